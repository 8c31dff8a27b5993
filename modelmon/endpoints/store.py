"""The one owner of the model-endpoint items in KV ``ProjectPaths.endpoints_table`` (key = endpoint id).

Every function reads and writes endpoint records through :class:`EndpointStore`, so the stored
attribute names, the tolerant decoding and the compare-and-set rules live here and nowhere else.
Besides :meth:`ModelEndpoint.to_item` the item holds bookkeeping attributes:

* ``ingest_version``: bumped by every counting update and by re-registration; counting is a
  compare-and-set on it, so the copy an update was computed from is exactly the stored item;
* ``ingest_seq_{shard}``: the last counted stream sequence number of each shard (redelivery);
* ``ingest_last_batch``: the id of the last counted batch without a stream position (an HTTP record's
  body hash, or a batch-inference run's ``batch_id``); ``batch_last_id``, where batch inference kept
  its id before both shared one attribute, is read as a last batch too;
* ``ingest_recent_records``: the last :data:`RECENT_RECORDS` producer record ids (JSON list), so a
  record the producer's retry stored twice, at two positions, counts once;
* ``drift_status_end_ms``: the end of the window the writer's ``drift_status`` comes from;
* ``drift_measures_end_ms``: the end of the window MLRun's ``drift_measures``/``current_stats`` come from (the
  histogram drift app's, on the v3io backend: ``modelmon.writer.mlrun_layout``);
* ``skipped_from_ms``/``skipped_until_ms``: traffic the controller never analysed, being older than where
  analysis started (written by the controller, cleared by a backfill that covers it).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from modelmon.backends.base import KV, Cond, Item, Op, Update, scan_all
from modelmon.core.errors import BackendUnavailable
from modelmon.core.paths import ProjectPaths
from modelmon.endpoints.record import (
    MLRUN_UID,
    ModelEndpoint,
    drift_status_value,
    mlrun_drift,
    mlrun_identity,
    mlrun_times,
    to_attributes,
)

if TYPE_CHECKING:
    from modelmon.stream.aggregate import Totals

ENDPOINT_ID = "endpoint_id"
NAME = "name"
FEATURE_NAMES = "feature_names"
LABEL_NAMES = "label_names"
FIRST_REQUEST = "first_request_ms"
LAST_REQUEST = "last_request_ms"
WATERMARK = "watermark_ms"
REQUEST_COUNT = "request_count"
ERROR_COUNT = "error_count"
LATENCY_SUM = "latency_sum_us"
ESTIMATED = "estimated_prediction_count"
DRIFT_STATUS = "drift_status"
DRIFT_STATUS_END = "drift_status_end_ms"
DRIFT_MEASURES_END = "drift_measures_end_ms"
FEATURE_TYPES = "feature_types"
SKIPPED_FROM = "skipped_from_ms"
SKIPPED_UNTIL = "skipped_until_ms"
VERSION = "ingest_version"
LAST_BATCH = "ingest_last_batch"
LEGACY_LAST_BATCH = "batch_last_id"
RECENT = "ingest_recent_records"
#: How many producer record ids an endpoint remembers (a re-sent copy lands within a few records).
RECENT_RECORDS = 200
#: The JSON bulk of an item (reference statistics, names, types): ``scan(brief=True)`` leaves it undecoded.
_BULK = ("feature_stats", "reference_performance", "feature_names", "label_names", "feature_types")
_MAX_ATTEMPTS = 8


def seq_attr(shard: int) -> str:
    """The item attribute holding the last counted sequence number of ``shard``."""
    return f"ingest_seq_{shard}"


class Origin(Protocol):
    """Where counted data came from; a stream :class:`~modelmon.stream.record.RawRecord` is one."""

    @property
    def batch_id(self) -> str: ...

    @property
    def shard(self) -> int | None: ...

    @property
    def sequence(self) -> int | None: ...

    @property
    def record_id(self) -> str | None: ...


@dataclasses.dataclass(frozen=True)
class JobBatch:
    """A batch-inference run's rows: counted once per ``batch_id``, as a stream record without a position.

    Its id is also its ``record_id``, so it joins the endpoint's recent ids: a batch re-run after other
    position-less data (which replaced the last batch) still counts once.
    """

    batch_id: str
    shard: None = None
    sequence: None = None

    @property
    def record_id(self) -> str:
        return self.batch_id


@dataclasses.dataclass(frozen=True)
class Counted:
    """What :meth:`EndpointStore.count` did, and the item after it (``reread``: fetched again from KV)."""

    applied: bool
    item: Item
    reread: bool


class EndpointStore:
    """Reads and writes the endpoint records of one project."""

    def __init__(self, kv: KV, paths: ProjectPaths | str) -> None:
        self.paths = paths if isinstance(paths, ProjectPaths) else ProjectPaths(paths)
        self._kv = kv
        self._table = self.paths.endpoints_table

    # ------------------------------------------------------------------------------------ reading
    def item(self, endpoint_id: str) -> Item | None:
        """The stored item as it is (for callers that decode it themselves, such as the app context)."""
        return self._kv.get(self._table, endpoint_id)

    def get(self, endpoint_id: str) -> ModelEndpoint | None:
        """The endpoint with this id, or ``None``; damaged attributes read as absent."""
        item = self.item(endpoint_id)
        return None if item is None else ModelEndpoint.from_item(item, key=endpoint_id)

    def scan(self, *, name: str | None = None, brief: bool = False) -> Iterator[ModelEndpoint]:
        """Every endpoint (or those named ``name``), in key order; damaged attributes read as absent.

        ``brief``: leave the reference statistics, names and types undecoded (empty), for the
        controller's run over every endpoint, which never reads them (decoding them was ~10% of a run
        over 10,000 endpoints).
        """
        condition = [Cond.eq(NAME, name)] if name is not None else []
        skip = _BULK if brief else ()
        for key, item in scan_all(self._kv, self._table, condition):
            yield ModelEndpoint.from_item(item, skip, key=key)

    # ------------------------------------------------------------------------------------ writing
    def create(self, endpoint: ModelEndpoint) -> Item:
        """Store ``endpoint`` if it has no record yet (first sight); the stored item either way."""
        item = _first_item(endpoint)
        return item if self._insert(item) else self.item(endpoint.endpoint_id) or item  # or created meanwhile

    def register(self, endpoint: ModelEndpoint, fields: Collection[str]) -> None:
        """Create ``endpoint``, or write only its ``fields`` into the existing record.

        The traffic counters, times and watermark are never touched; the version is bumped so the
        stream function re-reads its cached copy before it writes names.
        """
        if not self._insert(_first_item(endpoint)):
            changes = to_attributes({f: getattr(endpoint, f) for f in (ENDPOINT_ID, *fields)})
            self._kv.update(self._table, endpoint.endpoint_id, changes, increment={VERSION: 1})

    def _insert(self, item: Item) -> bool:
        return self._kv.update(self._table, item[ENDPOINT_ID], item, condition=[Cond.not_exists(ENDPOINT_ID)])

    def count(self, endpoint_id: str, origin: Origin, totals: Totals, watermark_ms: int | None,
              names: tuple[list[str], list[str]] | None = None, item: Item | None = None,
              types: Mapping[str, str] | None = None, extra: Mapping[str, Any] | None = None) -> Counted:
        """Count ``origin``'s totals into the endpoint once: one compare-and-set update on ``ingest_version``.

        Counters are incremented, times and the watermark moved (never back), ``names`` (feature,
        label) and feature ``types`` stored if the endpoint has none, and ``origin`` remembered, all
        atomically; ``applied``
        is false when ``origin`` was counted before. ``item``: the caller's copy of the stored item
        (the stream function's cache), updated in place; when it is current this is the only KV call.
        On a conflict the item is re-read and the update recomputed. ``extra``: attributes set with the count
        (MLRun's live ``metrics``, :mod:`modelmon.stream.live_stats`).
        """
        reread = item is None
        for _ in range(_MAX_ATTEMPTS):
            if item is None:
                item = self.item(endpoint_id)
                if item is None:
                    raise BackendUnavailable(f"endpoint {endpoint_id} was deleted while being updated")
            if already_counted(item, origin):
                return Counted(False, item, reread)
            set_, increment = _changes(item, origin, totals, watermark_ms, names, types)
            set_.update(extra or {})
            if self._kv.update(self._table, endpoint_id, set_, increment=increment, condition=[_same(item, VERSION)],
                               create=False):
                item.update(set_)
                for key, value in increment.items():
                    item[key] = (item.get(key) or 0) + value
                return Counted(True, item, reread)
            item, reread = None, True
        raise BackendUnavailable(f"endpoint {endpoint_id}: {_MAX_ATTEMPTS} conflicting updates in a row")

    def record_skipped(self, endpoint_id: str, skipped: tuple[int, int] | None) -> None:
        """Record that traffic in ``[from, until)`` was not analysed (``None``: nothing is skipped any more).

        A plain update of two attributes no other writer touches: it neither needs nor bumps the version.
        """
        start, until = skipped if skipped is not None else (None, None)
        self._kv.update(self._table, endpoint_id, {SKIPPED_FROM: start, SKIPPED_UNTIL: until}, create=False)

    def update_drift_status(self, endpoint_id: str, status: int, end_ms: int,
                            drift: Mapping[str, Any] | None = None) -> int | None:
        """Raise the drift status to ``status`` for the window ending at ``end_ms``, or reset it for a newer one.

        Returns the status stored, or ``None`` when nothing changed (older window, lower status, or no
        such endpoint). A compare-and-set, so windows arriving late or twice never move it back.
        ``drift``: MLRun's ``drift_measures`` and ``current_stats`` of that window (dicts, from the histogram
        drift app's ``general_drift`` extra data), stored as JSON text with the status, as MLRun's writer does.
        """
        for _ in range(_MAX_ATTEMPTS):
            item = self.item(endpoint_id)
            if item is None:
                return None
            end, current = item.get(DRIFT_STATUS_END), drift_status_value(item.get(DRIFT_STATUS))
            newer = end is None or end_ms > end
            if not newer and not (end_ms == end and current is not None and status > current):
                return None
            condition = (_same(item, DRIFT_STATUS_END), _same(item, DRIFT_STATUS))
            changes = {DRIFT_STATUS: status, DRIFT_STATUS_END: end_ms, **mlrun_drift(drift or {})}
            if self._kv.update(self._table, endpoint_id, changes, condition=condition, create=False):
                return status
        raise BackendUnavailable(f"endpoint {endpoint_id!r}: drift status kept changing; giving up")

    def raise_drift_statuses(self, statuses: Mapping[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
        """:meth:`update_drift_status` for many endpoints (id -> (window end, status)) as one batch of
        compare-and-sets on the stored numbers, each item read once on stores whose batch is one transaction: a
        newer window replaces the status, the same window raises it, a stored status at least as high (or a
        later window) is left as it is. Returns the endpoints these cannot judge (no status yet, MLRun's text, a
        missing item), for :meth:`update_drift_status`."""
        listed = [(endpoint_id, end, status) for endpoint_id, (end, status) in statuses.items()]
        judged = self._kv.update_many(self._table, [
            update for endpoint_id, end, status in listed for update in (
                Update(endpoint_id, {DRIFT_STATUS: status, DRIFT_STATUS_END: end},
                       (Cond(DRIFT_STATUS_END, Op.LT, end),), create=False),
                Update(endpoint_id, {DRIFT_STATUS: status}, (Cond(DRIFT_STATUS_END, Op.EQ, end),
                                                             Cond(DRIFT_STATUS, Op.LT, status)), create=False),
                # nothing to change (the same window with a status at least as high, or a later window): these
                # write back what they checked
                Update(endpoint_id, {DRIFT_STATUS_END: end}, (Cond(DRIFT_STATUS_END, Op.EQ, end),
                                                              Cond(DRIFT_STATUS, Op.GE, status)), create=False),
                Update(endpoint_id, {}, (Cond(DRIFT_STATUS_END, Op.GT, end),), create=False))])
        return {endpoint_id: (end, status) for index, (endpoint_id, end, status) in enumerate(listed)
                if not any(judged[4 * index:4 * index + 4])}

    def update_drift_measures(self, endpoint_id: str, end_ms: int,
                              drift: Callable[[], Mapping[str, Any]]) -> bool:
        """Store MLRun's ``drift_measures``/``current_stats`` of the window ending at ``end_ms`` unless a later
        window's are stored; whether they were.

        Kept apart from the drift status (its own ``drift_measures_end_ms``), which any app's results set:
        another app's higher status for the same window must not keep the histogram app's measures out.
        ``drift()`` is called only when the window is the latest (it may read the window's samples), at most
        once; a window computed again replaces its own measures.
        """
        values: dict[str, str] | None = None
        for _ in range(_MAX_ATTEMPTS):
            item = self.item(endpoint_id)
            if item is None:
                return False
            end = item.get(DRIFT_MEASURES_END)
            if isinstance(end, int) and end > end_ms:
                return False
            if values is None:
                values = mlrun_drift(drift())
            if self._kv.update(self._table, endpoint_id, {**values, DRIFT_MEASURES_END: end_ms},
                               condition=[_same(item, DRIFT_MEASURES_END)], create=False):
                return True
        raise BackendUnavailable(f"endpoint {endpoint_id!r}: drift measures kept changing; giving up")


def already_counted(item: Mapping[str, Any], origin: Origin) -> bool:
    """Whether ``origin`` was counted into the endpoint stored as ``item``.

    A stream record (shard, sequence) is counted when its sequence is at most ``ingest_seq_{shard}``;
    data without a position when its ``batch_id`` is the last batch; either, in addition, when its
    producer ``record_id`` is among the recent ones.
    """
    if origin.record_id is not None and origin.record_id in _recent(item):
        return True
    if origin.shard is not None and origin.sequence is not None:
        done = item.get(seq_attr(origin.shard))
        return isinstance(done, int) and done >= origin.sequence
    return origin.batch_id in (item.get(LAST_BATCH), item.get(LEGACY_LAST_BATCH))


def _first_item(endpoint: ModelEndpoint) -> Item:
    return {**endpoint.to_item(), VERSION: 0}


def _recent(item: Mapping[str, Any]) -> list[str]:
    value = item.get(RECENT)
    return json.loads(value) if isinstance(value, str) and value else []


def _changes(item: Mapping[str, Any], origin: Origin, totals: Totals, watermark_ms: int | None,
             names: tuple[list[str], list[str]] | None,
             types: Mapping[str, str] | None = None) -> tuple[dict[str, Any], dict[str, int | float]]:
    set_: dict[str, Any] = {
        FIRST_REQUEST: _min(item.get(FIRST_REQUEST), totals.first_ms),
        LAST_REQUEST: _max(item.get(LAST_REQUEST), totals.last_ms),
    }
    set_.update(mlrun_times(set_[FIRST_REQUEST], set_[LAST_REQUEST]))
    if MLRUN_UID not in item:  # created before modelmon wrote MLRun's attributes
        set_.update(mlrun_identity(str(item.get(ENDPOINT_ID, ""))))
    if watermark_ms is not None:
        set_[WATERMARK] = _max(item.get(WATERMARK), watermark_ms)
    if origin.shard is not None and origin.sequence is not None:
        set_[seq_attr(origin.shard)] = origin.sequence
    else:
        set_[LAST_BATCH] = origin.batch_id
    if origin.record_id is not None:
        set_[RECENT] = json.dumps([*_recent(item), origin.record_id][-RECENT_RECORDS:])
    if names is not None:
        for field, value in zip((FEATURE_NAMES, LABEL_NAMES), names, strict=True):
            if not json.loads(item.get(field) or "[]"):
                set_[field] = json.dumps(value)
    if types and not json.loads(item.get(FEATURE_TYPES) or "{}"):
        set_[FEATURE_TYPES] = json.dumps(dict(types))
    increment: dict[str, int | float] = {
        REQUEST_COUNT: totals.requests,
        ERROR_COUNT: totals.errors,
        LATENCY_SUM: totals.latency_sum_us,
        ESTIMATED: totals.requests if totals.estimated is None else totals.estimated,
        VERSION: 1,
    }
    return set_, increment


def _same(item: Mapping[str, Any], attr: str) -> Cond:
    """The condition that ``attr`` still holds what ``item`` had (or is still absent)."""
    return Cond.eq(attr, item[attr]) if attr in item else Cond.not_exists(attr)


def _min(old: int | None, new: int) -> int:
    return new if old is None else min(old, new)


def _max(old: int | None, new: int) -> int:
    return new if old is None else max(old, new)
