"""The stream function's view of endpoint records: cached, created on first sight, counted once per record.

Each record ends with ONE KV update of its endpoint (:meth:`EndpointStore.count`, a compare-and-set
computed from the cached item), and no read while the cached item is current. A cached item older
than ``refresh_ms`` is re-read before use, so names or registrations written by others are picked up;
a conflicting update re-reads it at once. Memory grows with the number of endpoints (one cached item
each), not with events.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from modelmon.backends.base import Item
from modelmon.core.errors import BackendUnavailable
from modelmon.endpoints.record import ModelEndpoint
from modelmon.endpoints.store import EndpointStore, Origin, already_counted
from modelmon.events import TrackingEvent

if TYPE_CHECKING:
    from modelmon.stream.aggregate import Totals


@dataclasses.dataclass
class _Cached:
    item: Item
    fetched_ms: int


class EndpointCache:
    """Endpoint records of one project as the stream function counts into them."""

    def __init__(self, store: EndpointStore, clock: Callable[[], int], refresh_ms: int = 60_000) -> None:
        self.store = store
        self.refresh_ms = refresh_ms
        self._clock = clock
        self._cache: dict[str, _Cached] = {}

    def __len__(self) -> int:
        return len(self._cache)

    def get_or_create(self, event: TrackingEvent, first_ms: int | None) -> ModelEndpoint:
        """The endpoint ``event`` reports on, creating its record on first sight."""
        cached = self._cache.get(event.endpoint_id)
        now = self._clock()
        if cached is None or now - cached.fetched_ms > self.refresh_ms:
            item = self.store.item(event.endpoint_id) or self.store.create(self._first_sight(event, first_ms, now))
            cached = self._cache[event.endpoint_id] = _Cached(dict(item), now)
        return ModelEndpoint.from_item(cached.item)

    def _first_sight(self, event: TrackingEvent, first_ms: int | None, now: int) -> ModelEndpoint:
        return ModelEndpoint(
            endpoint_id=event.endpoint_id, name=event.model, project=self.store.paths.project,
            function_uri=event.function_uri, model=event.model, model_version=event.version or "",
            model_class=event.model_class, labels=dict(event.labels), first_request_ms=first_ms,
            created_ms=now,
        )

    def already_applied(self, endpoint_id: str, record: Origin) -> bool:
        """Whether ``record`` was already counted for this endpoint (per the cached item)."""
        return already_counted(self._cache[endpoint_id].item, record)

    def apply(self, endpoint_id: str, record: Origin, totals: Totals, watermark_ms: int | None,
              names: tuple[list[str], list[str]] | None, types: Mapping[str, str] | None = None,
              extra: Mapping[str, Any] | None = None) -> bool:
        """Count ``record`` once: the single per-record update. ``False`` if it was already counted.

        ``watermark_ms`` is set only if it moves forward; ``names`` (feature, label) and the feature
        ``types`` are stored only if the endpoint has none yet.
        """
        try:
            counted = self.store.count(endpoint_id, record, totals, watermark_ms, names,
                                       item=self._cache[endpoint_id].item, types=types, extra=extra)
        except BackendUnavailable:  # deleted, or contended: read it afresh (or create it) on the next record
            self._cache.pop(endpoint_id, None)
            raise
        if counted.reread:
            self._cache[endpoint_id] = _Cached(counted.item, self._clock())
        return counted.applied
