"""The stream function's view of endpoint records: cached, created on first sight, updated once per record.

Each record ends with ONE conditional KV update of its endpoint: counters are incremented, times and
the watermark moved (never backwards), and the record's position stored, all atomically. The
condition is a compare-and-set on ``ingest_version`` (bumped by every such update), so the cached
item this update was computed from is exactly the stored one; on conflict the item is re-read and
the update recomputed. The stored position makes redelivery harmless:

* a stream record (shard, sequence) is applied only if ``sequence`` is above ``ingest_seq_{shard}``;
* a record without a position (HTTP, tests) is applied unless its body hash is ``ingest_last_batch``;
* a record carrying a producer ``record_id`` is, in addition, applied only if that id is not among the
  endpoint's last :data:`RECENT_RECORDS` ones (``ingest_recent_records``, a JSON list updated in the same
  compare-and-set): a record the producer's retry stored twice, at two positions, counts once.

Memory grows with the number of endpoints (one cached item each), not with events.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

from modelmon.backends import KV, Cond
from modelmon.core.errors import BackendUnavailable
from modelmon.endpoints.record import ModelEndpoint
from modelmon.events import TrackingEvent
from modelmon.stream.aggregate import Totals
from modelmon.stream.record import RawRecord

VERSION = "ingest_version"
LAST_BATCH = "ingest_last_batch"
RECENT = "ingest_recent_records"
#: How many producer record ids an endpoint remembers (a re-sent copy lands within a few records).
RECENT_RECORDS = 200
_MAX_ATTEMPTS = 8


def seq_attr(shard: int) -> str:
    """The item attribute holding the last applied sequence number of ``shard``."""
    return f"ingest_seq_{shard}"


@dataclasses.dataclass
class _Cached:
    item: dict[str, Any]
    fetched_ms: int

    @property
    def endpoint(self) -> ModelEndpoint:
        return ModelEndpoint.from_item(self.item)


class EndpointRegistry:
    """Endpoint records of one project, read through a cache and updated with compare-and-set.

    ``refresh_ms``: a cached item older than this is re-read before use, so names or registrations
    written by others are picked up.
    """

    def __init__(self, kv: KV, table: str, project: str, clock: Callable[[], int], refresh_ms: int = 60_000) -> None:
        self.kv = kv
        self.table = table
        self.project = project
        self.refresh_ms = refresh_ms
        self._clock = clock
        self._cache: dict[str, _Cached] = {}

    def __len__(self) -> int:
        return len(self._cache)

    def get_or_create(self, event: TrackingEvent, first_ms: int) -> ModelEndpoint:
        """The endpoint ``event`` reports on, creating its record on first sight."""
        cached = self._cache.get(event.endpoint_id)
        now = self._clock()
        if cached is None or now - cached.fetched_ms > self.refresh_ms:
            item = self.kv.get(self.table, event.endpoint_id)
            if item is None:
                item = self._new_item(event, first_ms, now)
                if not self.kv.update(self.table, event.endpoint_id, item,
                                      condition=[Cond.not_exists("endpoint_id")]):
                    item = self.kv.get(self.table, event.endpoint_id) or item  # created meanwhile
            cached = self._cache[event.endpoint_id] = _Cached(dict(item), now)
        return cached.endpoint

    def _new_item(self, event: TrackingEvent, first_ms: int, now: int) -> dict[str, Any]:
        endpoint = ModelEndpoint(
            endpoint_id=event.endpoint_id, name=event.model, project=self.project,
            function_uri=event.function_uri, model=event.model, model_version=event.version or "",
            model_class=event.model_class, labels=dict(event.labels), first_request_ms=first_ms,
            created_ms=now,
        )
        return {**endpoint.to_item(), VERSION: 0}

    def already_applied(self, endpoint_id: str, record: RawRecord) -> bool:
        """Whether ``record`` was already counted for this endpoint (per the cached item)."""
        return _applied(self._cache[endpoint_id].item, record)

    def apply(self, endpoint_id: str, record: RawRecord, totals: Totals, watermark_ms: int | None,
              names: tuple[list[str], list[str]] | None) -> bool:
        """Count ``record`` once: the single per-record update. ``False`` if it was already counted.

        ``watermark_ms`` is set only if it moves forward; ``names`` (feature, label) are stored only
        if the endpoint has none yet.
        """
        for _ in range(_MAX_ATTEMPTS):
            cached = self._cache[endpoint_id]
            item = cached.item
            if _applied(item, record):
                return False
            set_, increment = _changes(item, record, totals, watermark_ms, names)
            version = item.get(VERSION)
            condition = [Cond.eq(VERSION, version) if version is not None else Cond.not_exists(VERSION)]
            if self.kv.update(self.table, endpoint_id, set_, increment=increment, condition=condition):
                item.update(set_)
                for key, value in increment.items():
                    item[key] = (item.get(key) or 0) + value
                return True
            fresh = self.kv.get(self.table, endpoint_id)
            if fresh is None:  # deleted under us: start over as a new endpoint on the next record
                self._cache.pop(endpoint_id, None)
                raise BackendUnavailable(f"endpoint {endpoint_id} was deleted while being updated")
            self._cache[endpoint_id] = _Cached(dict(fresh), self._clock())
        raise BackendUnavailable(f"endpoint {endpoint_id}: {_MAX_ATTEMPTS} conflicting updates in a row")


def _recent(item: dict[str, Any]) -> list[str]:
    value = item.get(RECENT)
    return json.loads(value) if isinstance(value, str) and value else []


def _applied(item: dict[str, Any], record: RawRecord) -> bool:
    if record.record_id is not None and record.record_id in _recent(item):
        return True
    if record.shard is not None and record.sequence is not None:
        done = item.get(seq_attr(record.shard))
        return isinstance(done, int) and done >= record.sequence
    return item.get(LAST_BATCH) == record.batch_id


def _changes(item: dict[str, Any], record: RawRecord, totals: Totals, watermark_ms: int | None,
             names: tuple[list[str], list[str]] | None) -> tuple[dict[str, Any], dict[str, int | float]]:
    set_: dict[str, Any] = {
        "first_request_ms": _min(item.get("first_request_ms"), totals.first_ms),
        "last_request_ms": _max(item.get("last_request_ms"), totals.last_ms),
    }
    if watermark_ms is not None:
        set_["watermark_ms"] = _max(item.get("watermark_ms"), watermark_ms)
    if record.shard is not None and record.sequence is not None:
        set_[seq_attr(record.shard)] = record.sequence
    else:
        set_[LAST_BATCH] = record.batch_id
    if record.record_id is not None:
        set_[RECENT] = json.dumps([*_recent(item), record.record_id][-RECENT_RECORDS:])
    if names is not None:
        for field, value in zip(("feature_names", "label_names"), names, strict=True):
            if not json.loads(item.get(field) or "[]"):
                set_[field] = json.dumps(value)
    increment: dict[str, int | float] = {
        "request_count": totals.requests,
        "error_count": totals.errors,
        "latency_sum_us": totals.latency_sum_us,
        VERSION: 1,
    }
    return set_, increment


def _min(old: int | None, new: int) -> int:
    return new if old is None else min(old, new)


def _max(old: int | None, new: int) -> int:
    return new if old is None else max(old, new)
