"""The latest result per endpoint/app/result and the latest metrics per endpoint/app in KV, and the
endpoint's drift status.

All are compare-and-set updates, so windows arriving out of order or twice never move them back in
time: a result item, or an app's metrics item, is only replaced by a window ending at or after the
stored one, and the drift status is the highest status among the results of the endpoint's latest window.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

from modelmon.backends.base import KV, Cond, Op, Update
from modelmon.core.errors import BackendUnavailable
from modelmon.core.paths import ProjectPaths
from modelmon.core.results import ModelMonitoringApplicationResult, stored_value
from modelmon.endpoints.store import EndpointStore
from modelmon.events import WriterEvent
from modelmon.writer.history import ExtraDataTexts

_RETRIES = 5


def result_key(endpoint_id: str, app_name: str, result_name: str) -> str:
    return f"{endpoint_id}.{app_name}.{result_name}"


def metrics_key(endpoint_id: str, app_name: str) -> str:
    return f"{endpoint_id}.{app_name}"


def _replace_older(key: str, item: dict[str, Any]) -> Update:
    """Replace the stored item if its window ends at or before ``item``'s."""
    return Update(key, item, (Cond("end_ms", Op.LE, item["end_ms"]),), create=False)


def _create_missing(key: str, item: dict[str, Any]) -> Update:
    """Create the item if none is stored (or one without a window)."""
    return Update(key, item, (Cond.not_exists("end_ms"),))


@dataclasses.dataclass(frozen=True)
class Stored:
    """What one event replaced: the names of its results now latest, and whether its metrics are."""

    results: frozenset[str]
    metrics: bool


class LatestResults:
    """Keeps KV ``app_results_table`` and the endpoints' ``drift_status`` up to date."""

    def __init__(self, kv: KV, paths: ProjectPaths, *, batched_statuses: bool = True) -> None:
        """``batched_statuses``: drift statuses by batches of compare-and-sets (stores whose batch is one
        transaction); else one read and update per endpoint (V3IO, where every update is a request)."""
        self._kv = kv
        self._batched = batched_statuses
        self._results = paths.app_results_table
        self._metrics = paths.app_metrics_table
        self._endpoints = EndpointStore(kv, paths)

    def write(self, event: WriterEvent, now_ms: int) -> Stored:
        """Store each result of ``event``, and its metrics as one item, unless a later window is stored;
        which were stored."""
        return self.write_many([event], now_ms)[0]

    def write_many(self, events: Sequence[WriterEvent], now_ms: int,
                   texts: ExtraDataTexts | None = None) -> list[Stored]:
        """:meth:`write` for each of ``events`` with one batch per table for all of them; what each stored.

        Of several events with the same item (one result of one endpoint and app) only the latest window is
        written (of equal windows the last event): the state is the one writing them in order leaves.
        ``texts``: the ``extra_data`` texts, shared with the batch's other writes."""
        texts = texts or ExtraDataTexts()
        metrics: dict[str, tuple[int, dict[str, Any]]] = {}
        results: dict[str, tuple[int, dict[str, Any]]] = {}
        for index, event in enumerate(events):
            if event.metrics:
                _keep_latest(metrics, metrics_key(event.endpoint_id, event.app_name), index, {
                    "endpoint_id": event.endpoint_id, "app_name": event.app_name, "start_ms": event.start_ms,
                    "end_ms": event.end_ms, "updated_ms": now_ms,
                    "metrics": json.dumps({m.name: stored_value(m.value) for m in event.metrics})})
            for result in event.results:
                _keep_latest(results, result_key(event.endpoint_id, event.app_name, result.name), index,
                             self._result_item(event, result, now_ms, texts))
        stored_metrics = set(self._put_unless_later(self._metrics, {k: item for k, (_, item) in metrics.items()})) \
            if metrics else set()
        stored_results = set(self._put_unless_later(self._results, {k: item for k, (_, item) in results.items()})) \
            if results else set()
        out = []
        for index, event in enumerate(events):
            names = frozenset(result.name for result in event.results
                              if (key := result_key(event.endpoint_id, event.app_name, result.name)) in stored_results
                              and results[key][0] == index)
            key = metrics_key(event.endpoint_id, event.app_name)
            out.append(Stored(names, bool(event.metrics) and key in stored_metrics and metrics[key][0] == index))
        return out

    @staticmethod
    def _result_item(event: WriterEvent, result: ModelMonitoringApplicationResult, now_ms: int,
                     texts: ExtraDataTexts) -> dict[str, Any]:
        return {
            "endpoint_id": event.endpoint_id,
            "app_name": event.app_name,
            "result_name": result.name,
            "value": stored_value(result.value),  # a missing (NaN) value is stored as missing
            "status": int(result.status),
            "kind": int(result.kind),
            "extra_data": texts(result.extra_data),  # within V3IO's text attribute size
            "start_ms": event.start_ms,
            "end_ms": event.end_ms,
            "updated_ms": now_ms,
        }

    def _put_unless_later(self, table: str, items: dict[str, dict[str, Any]]) -> list[str]:
        """Replace each item unless it holds a window ending after the new one; the keys stored.

        Each round is one batch per step (replace an older window; create a missing item), so an event's
        results cost a few store round trips, not a few per result; only the items a step missed go on."""
        pending: dict[str, dict[str, Any]] = dict(items)
        stored: list[str] = []
        for _ in range(_RETRIES):
            for step in (_replace_older, _create_missing):
                keys = list(pending)
                done = self._kv.update_many(table, [step(key, pending[key]) for key in keys])
                for key, ok in zip(keys, done, strict=True):
                    if ok:
                        del pending[key]
                        stored.append(key)
                if not pending:
                    return stored
            for key in list(pending):
                current = self._kv.get(table, key)
                if current is not None and isinstance(current.get("end_ms"), int) \
                        and current["end_ms"] > pending[key]["end_ms"]:
                    del pending[key]  # a later window is already stored
            if not pending:
                return stored
        raise BackendUnavailable(f"{', '.join(sorted(pending)[:3])} in {table!r}: the stored items kept changing; "
                                 f"giving up after {_RETRIES} tries")

    def update_drift_status(self, event: WriterEvent) -> int | None:
        """Raise the endpoint's drift status to this window's highest, or reset it for a newer window.

        Returns the status stored, or ``None`` when nothing changed (older window, no results, or
        no such endpoint).
        """
        if not event.results:
            return None
        status = max(int(r.status) for r in event.results)
        return self._endpoints.update_drift_status(event.endpoint_id, status, event.end_ms)

    def update_drift_statuses(self, events: Sequence[WriterEvent]) -> None:
        """:meth:`update_drift_status` for each of ``events``, one update per endpoint: its latest window's
        highest status (an older window in the batch would be reset by the newer one anyway)."""
        latest: dict[str, tuple[int, int]] = {}  # endpoint id -> (end_ms, highest status in that window)
        for event in events:
            if not event.results:
                continue
            status = max(int(r.status) for r in event.results)
            end, highest = latest.get(event.endpoint_id, (event.end_ms, status))
            if event.end_ms > end:
                end, highest = event.end_ms, status
            latest[event.endpoint_id] = (end, max(highest, status) if event.end_ms == end else highest)
        pending = latest
        if self._batched:
            pending = self._endpoints.raise_drift_statuses(latest)
        for endpoint_id, (end, status) in pending.items():
            self._endpoints.update_drift_status(endpoint_id, status, end)


def _keep_latest(items: dict[str, tuple[int, dict[str, Any]]], key: str, index: int, item: dict[str, Any]) -> None:
    """Keep ``item`` (of event ``index``) under ``key`` unless the one kept holds a later window."""
    kept = items.get(key)
    if kept is None or kept[1]["end_ms"] <= item["end_ms"]:
        items[key] = (index, item)
