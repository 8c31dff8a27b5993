"""Result and metric history in the TSDB: one row per (endpoint, app, name, window end).

A row's time is the window's end and its labels name it, so a redelivered writer event replaces
its rows instead of adding new ones. All results of an event go in one write, all metrics in another.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from modelmon.backends.base import TSDB
from modelmon.core.paths import ProjectPaths
from modelmon.events import WriterEvent

RESULT_LABELS = ("endpoint_id", "app_name", "result_name")
METRIC_LABELS = ("endpoint_id", "app_name", "metric_name")


class HistoryWriter:
    """Appends each writer event's results and metrics to their TSDB tables."""

    def __init__(self, tsdb: TSDB, paths: ProjectPaths) -> None:
        self._tsdb = tsdb
        self._results = paths.app_results_tsdb
        self._metrics = paths.metrics_tsdb
        tsdb.create_table(self._results)
        tsdb.create_table(self._metrics)

    def write(self, event: WriterEvent) -> None:
        if event.results:
            self._write_rows(self._results, RESULT_LABELS, event, {
                "result_name": [r.name for r in event.results],
                "value": [r.value for r in event.results],
                "status": [int(r.status) for r in event.results],
                "kind": [int(r.kind) for r in event.results],
                "start_ms": event.start_ms,
            })
        if event.metrics:
            self._write_rows(self._metrics, METRIC_LABELS, event, {
                "metric_name": [m.name for m in event.metrics],
                "value": [m.value for m in event.metrics],
            })

    def _write_rows(self, table: str, labels: tuple[str, ...], event: WriterEvent, columns: dict[str, Any]) -> None:
        """One row per name, timed at the window's end and labelled with the event's endpoint and app."""
        frame = pd.DataFrame({"time": event.end_ms, "endpoint_id": event.endpoint_id, "app_name": event.app_name,
                              **columns})
        self._tsdb.write(table, frame, labels=list(labels))
