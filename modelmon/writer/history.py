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
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pandas as pd

from modelmon.backends.base import TSDB
from modelmon.core.paths import ProjectPaths
from modelmon.core.timeutil import now_ms
from modelmon.events import WriterEvent

#: The label that makes every write its own series; the newest per window is the highest.
WRITE_LABEL = "updated_ms"
RESULT_LABELS = ("endpoint_id", "app_name", "result_name", WRITE_LABEL)
METRIC_LABELS = ("endpoint_id", "app_name", "metric_name", WRITE_LABEL)

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

    def __init__(self, tsdb: TSDB, paths: ProjectPaths, clock: Callable[[], int] = now_ms) -> None:
        self._tsdb = tsdb
        self._clock = clock
        self._results = paths.app_results_tsdb
        self._metrics = paths.metrics_tsdb
        tsdb.create_table(self._results)
        tsdb.create_table(self._metrics)

    def write(self, event: WriterEvent) -> None:
        """All results of ``event`` in one write, all its metrics in another, under one stamp."""
        if not event.results and not event.metrics:
            return
        stamp = str(write_stamp(self._clock))
        if event.results:
            self._write_rows(self._results, RESULT_LABELS, event, stamp, {
                "result_name": [r.name for r in event.results],
                "value": [r.value for r in event.results],
                "status": [int(r.status) for r in event.results],
                "kind": [int(r.kind) for r in event.results],
                "start_ms": event.start_ms,
            })
        if event.metrics:
            self._write_rows(self._metrics, METRIC_LABELS, event, stamp, {
                "metric_name": [m.name for m in event.metrics],
                "value": [m.value for m in event.metrics],
            })

    def _write_rows(self, table: str, labels: tuple[str, ...], event: WriterEvent, stamp: str,
                    columns: dict[str, Any]) -> None:
        """One row per name, timed at the window's end and labelled with the event's endpoint and app."""
        frame = pd.DataFrame({"time": event.end_ms, "endpoint_id": event.endpoint_id, "app_name": event.app_name,
                              **columns, WRITE_LABEL: stamp})
        self._tsdb.write(table, frame, labels=list(labels))


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
