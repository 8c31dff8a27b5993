"""The latest result per endpoint/app/result and the latest metrics per endpoint/app in KV, and the
endpoint's drift status.

All are compare-and-set updates, so windows arriving out of order or twice never move them back in
time: a result item, or an app's metrics item, is only replaced by a window ending at or after the
stored one, and the drift status is the highest status among the results of the endpoint's latest window.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from modelmon.backends.base import KV, Cond, Op, Update
from modelmon.core.errors import BackendUnavailable
from modelmon.core.paths import ProjectPaths
from modelmon.core.results import ModelMonitoringApplicationResult, stored_value
from modelmon.endpoints.store import EndpointStore
from modelmon.events import WriterEvent
from modelmon.writer.history import bounded_extra_data

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

    def __init__(self, kv: KV, paths: ProjectPaths) -> None:
        self._kv = kv
        self._results = paths.app_results_table
        self._metrics = paths.app_metrics_table
        self._endpoints = EndpointStore(kv, paths)

    def write(self, event: WriterEvent, now_ms: int) -> Stored:
        """Store each result of ``event``, and its metrics as one item, unless a later window is stored;
        which were stored."""
        metrics = False
        if event.metrics:
            item = {"endpoint_id": event.endpoint_id, "app_name": event.app_name, "start_ms": event.start_ms,
                    "end_ms": event.end_ms, "updated_ms": now_ms,
                    "metrics": json.dumps({m.name: stored_value(m.value) for m in event.metrics})}
            metrics = bool(self._put_unless_later(self._metrics, {metrics_key(event.endpoint_id, event.app_name):
                                                                  item}))
        keys = {result_key(event.endpoint_id, event.app_name, result.name): result.name for result in event.results}
        stored = self._put_unless_later(self._results, {
            result_key(event.endpoint_id, event.app_name, result.name): self._result_item(event, result, now_ms)
            for result in event.results})
        return Stored(frozenset(keys[key] for key in stored), metrics)

    @staticmethod
    def _result_item(event: WriterEvent, result: ModelMonitoringApplicationResult, now_ms: int) -> dict[str, Any]:
        return {
            "endpoint_id": event.endpoint_id,
            "app_name": event.app_name,
            "result_name": result.name,
            "value": stored_value(result.value),  # a missing (NaN) value is stored as missing
            "status": int(result.status),
            "kind": int(result.kind),
            "extra_data": bounded_extra_data(result.extra_data),  # within V3IO's text attribute size
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
