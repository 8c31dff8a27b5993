"""The latest result per endpoint/app/result and the latest metrics per endpoint/app in KV, and the
endpoint's drift status.

All are compare-and-set updates, so windows arriving out of order or twice never move them back in
time: a result item, or an app's metrics item, is only replaced by a window ending at or after the
stored one, and the drift status is the highest status among the results of the endpoint's latest window.
"""

from __future__ import annotations

import json
from typing import Any

from modelmon.backends.base import KV, Cond, Op
from modelmon.core.errors import BackendUnavailable
from modelmon.core.paths import ProjectPaths
from modelmon.core.results import ModelMonitoringApplicationResult
from modelmon.endpoints.store import EndpointStore
from modelmon.events import WriterEvent
from modelmon.writer.history import bounded_extra_data

_RETRIES = 5


def result_key(endpoint_id: str, app_name: str, result_name: str) -> str:
    return f"{endpoint_id}.{app_name}.{result_name}"


def metrics_key(endpoint_id: str, app_name: str) -> str:
    return f"{endpoint_id}.{app_name}"


class LatestResults:
    """Keeps KV ``app_results_table`` and the endpoints' ``drift_status`` up to date."""

    def __init__(self, kv: KV, paths: ProjectPaths) -> None:
        self._kv = kv
        self._results = paths.app_results_table
        self._metrics = paths.app_metrics_table
        self._endpoints = EndpointStore(kv, paths)

    def write(self, event: WriterEvent, now_ms: int) -> int:
        """Store each result of ``event``, and its metrics as one item, unless a later window is stored;
        how many results were stored."""
        if event.metrics:
            item = {"endpoint_id": event.endpoint_id, "app_name": event.app_name, "start_ms": event.start_ms,
                    "end_ms": event.end_ms, "updated_ms": now_ms,
                    "metrics": json.dumps({m.name: m.value for m in event.metrics})}
            self._put_unless_later(self._metrics, metrics_key(event.endpoint_id, event.app_name), item)
        return sum(self._write_one(event, result, now_ms) for result in event.results)

    def _write_one(self, event: WriterEvent, result: ModelMonitoringApplicationResult, now_ms: int) -> bool:
        key = result_key(event.endpoint_id, event.app_name, result.name)
        item = {
            "endpoint_id": event.endpoint_id,
            "app_name": event.app_name,
            "result_name": result.name,
            "value": result.value,
            "status": int(result.status),
            "kind": int(result.kind),
            "extra_data": bounded_extra_data(result.extra_data),  # within V3IO's text attribute size
            "start_ms": event.start_ms,
            "end_ms": event.end_ms,
            "updated_ms": now_ms,
        }
        return self._put_unless_later(self._results, key, item)

    def _put_unless_later(self, table: str, key: str, item: dict[str, Any]) -> bool:
        """Replace the item unless it holds a window ending after ``item``'s; whether it was stored."""
        end_ms = item["end_ms"]
        for _ in range(_RETRIES):
            if self._kv.update(table, key, item, condition=(Cond("end_ms", Op.LE, end_ms),), create=False):
                return True
            if self._kv.update(table, key, item, condition=(Cond.not_exists("end_ms"),)):
                return True
            stored = self._kv.get(table, key)
            if stored is not None and isinstance(stored.get("end_ms"), int) and stored["end_ms"] > end_ms:
                return False  # a later window is already stored
        raise BackendUnavailable(f"{key!r} in {table!r}: the stored item kept changing; giving up after "
                                 f"{_RETRIES} tries")

    def update_drift_status(self, event: WriterEvent) -> int | None:
        """Raise the endpoint's drift status to this window's highest, or reset it for a newer window.

        Returns the status stored, or ``None`` when nothing changed (older window, no results, or
        no such endpoint).
        """
        if not event.results:
            return None
        status = max(int(r.status) for r in event.results)
        return self._endpoints.update_drift_status(event.endpoint_id, status, event.end_ms)
