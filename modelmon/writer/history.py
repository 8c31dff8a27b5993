"""Result and metric history in the TSDB: one sample per (endpoint, app, name, window end, write).

V3IO TSDB keeps the first write of a series and drops any sample at or before the series' latest time
(``modelmon.backends.base.TSDB``). Keyed only by endpoint, app and name, a window arriving after a
later one (W1 re-sent after W3) would be lost, and a recomputed window would keep its first value.
So every write of an event is its own series: besides ``endpoint_id``, ``app_name`` and the name, a
label ``updated_ms`` holds the write's stamp (the writer's epoch ms, raised past the last stamp this
process gave so two writes never share one). Its samples are the first of their series and are always
stored; the time is still the window's end. Readers (``modelmon.queries``) keep, per endpoint, app,
name and window end, the sample with the highest ``updated_ms``: the newest computation, as the
latest-results KV shows it. A redelivered event adds an equal sample, which changes nothing read.

A result's ``extra_data`` (which features drifted, by how much) is JSON, not a number, and TSDB labels
are no place for it. So each window's ``extra_data`` goes to KV ``app_results_extra_table``, one item per
endpoint, app, result and window end (key :func:`extra_data_key`), stamped with the same ``updated_ms``
as its TSDB rows and replaced only by a newer stamp: readers join it to the TSDB row of that window.
Its JSON text is cut to :data:`MAX_EXTRA_DATA_BYTES` (:func:`bounded_extra_data`) so that the item is
writable on V3IO too. Windows written before this table existed read an empty ``extra_data``.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from modelmon.backends.base import KV, TSDB, Cond, Op, Update
from modelmon.core.paths import ProjectPaths
from modelmon.core.timeutil import now_ms
from modelmon.events import WriterEvent

#: The label that makes every write its own series; the newest per window is the highest.
WRITE_LABEL = "updated_ms"
RESULT_LABELS = ("endpoint_id", "app_name", "result_name", WRITE_LABEL)
METRIC_LABELS = ("endpoint_id", "app_name", "metric_name", WRITE_LABEL)

#: The longest JSON text of one result's ``extra_data`` in a KV item: V3IO stores a text attribute of at
#: most 61,200 bytes (Iguazio's software specifications, "Maximum attribute size"; an item holds 1.5 MB in
#: all), so every backend keeps below it and a record never fails on one of them only.
MAX_EXTRA_DATA_BYTES = 60_000
#: The key :func:`bounded_extra_data` adds to an ``extra_data`` it had to cut.
TRUNCATED = "_truncated"
#: Room kept for that key's own text.
_MARKER_BYTES = 2_000

_stamp_lock = threading.Lock()
_last_stamp = 0


def write_stamp(clock: Callable[[], int] = now_ms) -> int:
    """``clock()``, or one more than the last stamp of this process: stamps only grow.

    >>> first = write_stamp(lambda: 5)
    >>> write_stamp(lambda: 5) == first + 1
    True
    """
    global _last_stamp
    with _stamp_lock:
        _last_stamp = max(int(clock()), _last_stamp + 1)
        return _last_stamp


class HistoryWriter:
    """Appends each writer event's results and metrics to their TSDB tables."""

    def __init__(self, tsdb: TSDB, paths: ProjectPaths, clock: Callable[[], int] = now_ms, *,
                 kv: KV | None = None) -> None:
        self._tsdb = tsdb
        self._kv = kv
        self._clock = clock
        self._results = paths.app_results_tsdb
        self._metrics = paths.metrics_tsdb
        self._extra = paths.app_results_extra_table
        tsdb.create_table(self._results)
        tsdb.create_table(self._metrics)

    def write(self, event: WriterEvent) -> None:
        """All results of ``event`` in one write, all its metrics in another, under one stamp; then each
        result's ``extra_data`` in KV (when the writer was given one)."""
        self.write_many([event])

    def write_many(self, events: Sequence[WriterEvent], texts: ExtraDataTexts | None = None) -> None:
        """The results of all ``events`` in one TSDB write and their metrics in another, each event under its
        own stamp (in order: a later event of the same window wins, as if written one by one); then every
        result's ``extra_data`` in one KV batch. A batch costs a few store round trips, not a few per event.
        ``texts``: the ``extra_data`` texts, shared with the batch's other writes."""
        stamped = [(event, write_stamp(self._clock)) for event in events if event.results or event.metrics]
        with_results = [(event, stamp) for event, stamp in stamped if event.results]
        with_metrics = [(event, stamp) for event, stamp in stamped if event.metrics]
        if with_results:
            self._write_rows(self._results, RESULT_LABELS, with_results, "result_name", lambda e: [
                (r.name, r.value, {"status": int(r.status), "kind": int(r.kind)}) for r in e.results])
            if self._kv is not None:
                self._write_extra(with_results, texts or ExtraDataTexts())
        if with_metrics:
            self._write_rows(self._metrics, METRIC_LABELS, with_metrics, "metric_name", lambda e: [
                (m.name, m.value, {}) for m in e.metrics])

    def _write_extra(self, stamped: Sequence[tuple[WriterEvent, int]], texts: ExtraDataTexts) -> None:
        """Each window's ``extra_data`` item per result: created, or replaced when this write's stamp is newer
        (a later write already stored stays). One batch creates them all; only items that exist go on.

        An empty ``extra_data`` creates no item (readers read a missing one as empty) but still replaces an
        older computation's item: most results carry none, and skipping them halves the writer's KV items."""
        assert self._kv is not None
        filled: dict[str, dict[str, Any]] = {}
        empty: dict[str, Update] = {}  # later writes of a key replace earlier ones, as written one by one
        for event, stamp in stamped:
            newer = (Cond(WRITE_LABEL, Op.LT, stamp),)
            cleared = {WRITE_LABEL: stamp, "extra_data": "{}"}  # the rest of the item is its key's
            for result in event.results:
                key = extra_data_key(event.endpoint_id, event.app_name, result.name, event.end_ms)
                if result.extra_data:
                    empty.pop(key, None)
                    filled[key] = {"endpoint_id": event.endpoint_id, "app_name": event.app_name,
                                   "result_name": result.name, "start_ms": event.start_ms, "end_ms": event.end_ms,
                                   WRITE_LABEL: stamp, "extra_data": texts(result.extra_data)}
                else:
                    filled.pop(key, None)
                    empty[key] = Update(key, cleared, newer, create=False)
        created = self._kv.update_many(self._extra, [Update(key, item, (Cond.not_exists(WRITE_LABEL),))
                                                     for key, item in filled.items()])
        existing = [Update(key, item, (Cond(WRITE_LABEL, Op.LT, item[WRITE_LABEL]),), create=False)
                    for (key, item), new in zip(filled.items(), created, strict=True) if not new]
        existing += empty.values()
        if existing:
            self._kv.update_many(self._extra, existing)

    def _write_rows(self, table: str, labels: tuple[str, ...], stamped: Sequence[tuple[WriterEvent, int]],
                    name: str, entries: Callable[[WriterEvent], list[tuple[str, float, dict[str, int]]]]) -> None:
        """One row per name of each event, timed at the window's end and labelled with the event's endpoint,
        app and stamp; ``entries(event)``: (name, value, other columns) per row."""
        columns: dict[str, list[Any]] = {"time": [], "endpoint_id": [], "app_name": [], name: [], "value": []}
        extra: dict[str, list[Any]] = {}
        starts: list[int] = []
        stamps: list[str] = []
        for event, stamp in stamped:
            rows = entries(event)
            count = len(rows)
            columns["time"] += [event.end_ms] * count
            columns["endpoint_id"] += [event.endpoint_id] * count
            columns["app_name"] += [event.app_name] * count
            for row_name, value, others in rows:
                columns[name].append(row_name)
                columns["value"].append(value)
                for key, other in others.items():
                    extra.setdefault(key, []).append(other)
            starts += [event.start_ms] * count
            stamps += [str(stamp)] * count
        frame = pd.DataFrame({name: _array(values) for name, values in {
            **columns, **extra, "start_ms": starts, WRITE_LABEL: stamps}.items()}, copy=False)
        self._tsdb.write(table, frame, labels=list(labels))


def _array(values: list[Any]) -> npt.NDArray[Any]:
    """A column as an array, text kept as objects: with ``copy=False`` pandas builds the frame of many small
    writes without consolidating their columns (several times faster than from lists)."""
    if values and isinstance(values[0], str):
        return np.array(values, dtype=object)
    array = np.array(values)
    return array.astype(np.float64) if array.dtype == object else array  # None among numbers: missing


def newest_per_window(rows: pd.DataFrame, name: str) -> pd.DataFrame:
    """Of history ``rows`` read from the TSDB, the newest write per endpoint, app, ``name`` and window end.

    Rows written before the history had ``updated_ms`` read it as empty and count as the oldest.
    """
    if rows.empty:
        return rows
    stamps = rows[WRITE_LABEL] if WRITE_LABEL in rows.columns else pd.Series("", index=rows.index)
    order = pd.to_numeric(stamps, errors="coerce").fillna(-1)
    keys = ["endpoint_id", "app_name", name, "time"]
    newest = rows.assign(_order=order).sort_values([*keys, "_order"], kind="stable")
    return newest.drop_duplicates(keys, keep="last").drop(columns="_order").reset_index(drop=True)


def extra_data_key(endpoint_id: str, app_name: str, result_name: str, end_ms: int) -> str:
    """The KV key of one window's ``extra_data`` of one result."""
    return f"{endpoint_id}.{app_name}.{result_name}.{end_ms}"


class ExtraDataTexts:
    """:func:`bounded_extra_data` of each ``extra_data`` of a batch, encoded once for all the writes that store it
    (history and latest results). It keeps each mapping it encoded, so that its ``id`` stays its own."""

    def __init__(self) -> None:
        self._texts: dict[int, tuple[Mapping[str, Any], str]] = {}

    def __call__(self, extra_data: Mapping[str, Any]) -> str:
        kept = self._texts.get(id(extra_data))
        if kept is not None and kept[0] is extra_data:
            return kept[1]
        text = bounded_extra_data(extra_data)
        self._texts[id(extra_data)] = (extra_data, text)
        return text


def bounded_extra_data(extra_data: Mapping[str, Any], limit: int = MAX_EXTRA_DATA_BYTES) -> str:
    """``extra_data`` as JSON text of at most ``limit`` bytes.

    Text over the limit keeps the top-level entries that fit, in order; a list or dict that does not fit
    whole keeps its first entries (apps list the most drifted features first), and a key
    :data:`TRUNCATED` says how large the original was and which keys were cut or dropped.

    >>> text = bounded_extra_data({"reason": "ok", "features": {f"f{i}": i for i in range(10_000)}}, limit=3_000)
    >>> cut = json.loads(text)
    >>> len(text) <= 3_000, cut["reason"], list(cut["features"])[:2], cut["_truncated"]["keys"]
    (True, 'ok', ['f0', 'f1'], ['features'])
    """
    if type(extra_data) is dict and not extra_data:
        return "{}"  # most results' (as json.dumps writes it)
    text = json.dumps(extra_data)
    if len(text) <= limit:  # json.dumps escapes every non-ASCII character: one byte per character
        return text
    budget = limit - _MARKER_BYTES
    kept: dict[str, Any] = {}
    cut: list[str] = []
    used = 2  # the braces
    for key, value in extra_data.items():
        size = _entry_size(key, value)
        if used + size <= budget:
            kept[key] = value
            used += size
            continue
        cut.append(str(key))
        if isinstance(value, list | dict):
            head = _head(value, budget - used - _entry_size(key, value.__class__()))
            if head:
                kept[key] = head
                used += _entry_size(key, head)
    kept[TRUNCATED] = {"bytes": len(text), "limit": limit, "keys": [k[:100] for k in cut[:10]]}
    bounded = json.dumps(kept)
    return bounded if len(bounded) <= limit else json.dumps({TRUNCATED: kept[TRUNCATED]})


def _entry_size(key: Any, value: Any) -> int:
    """The bytes ``"key": value, `` adds to a dict's JSON text."""
    return len(json.dumps({key: value})) - 2 + 2


def _head(value: list[Any] | dict[Any, Any], room: int) -> list[Any] | dict[Any, Any]:
    """The longest prefix of ``value`` whose entries add at most ``room`` bytes."""
    if isinstance(value, dict):
        sizes = [_entry_size(k, v) for k, v in value.items()]
    else:
        sizes = [len(json.dumps(v)) + 2 for v in value]
    count = sum(1 for total in itertools.accumulate(sizes) if total <= room)
    return dict(itertools.islice(value.items(), count)) if isinstance(value, dict) else value[:count]
