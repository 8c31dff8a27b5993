"""Application results and metrics in MLRun's own tables, so MLRun's dashboards and SDK read them.

MLRun's writer keeps (``mlrun/model_monitoring/db/tsdb/v3io``, ``db/stores/v3io_kv``):

- TSDB ``monitoring-apps/app-results``: time = window end; labels ``endpoint_id``, ``application_name``,
  ``result_name``; columns ``result_value``, ``result_status``, ``result_kind`` (numbers);
- TSDB ``monitoring-apps/metrics``: the same labels with ``metric_name``; column ``metric_value``;
- KV ``monitoring-apps/<endpoint_id>``: key = app name, one attribute per result name holding the
  result as JSON text (``result_value``, ``result_kind``, ``result_status``, ``result_extra_data``,
  ``current_stats``, ``start_infer_time``, ``end_infer_time``), and a ``.#schema`` file (key
  ``application_name``, field ``result_name``) for Grafana's frames KV reader, which lists the apps;
- KV ``monitoring-apps/<endpoint_id>_metrics``: key ``<app>.<metric>``; attributes ``application_name``,
  ``metric_name``, ``metric_value``, ``start_infer_time``, ``end_infer_time``.

Times in them are text as MLRun writes them (``2024-01-01 00:00:00.000000+00:00``). MLRun also writes
``start_infer_time`` as a text column of both TSDB tables; modelmon leaves it out for now (the frames test
server stores numeric samples only, so it could not be tested): no MLRun reader or dashboard chart reads it.
``current_stats`` is ``{}``: writer events do not carry the window's statistics.

Only the v3io backend keeps these tables (:func:`mlrun_layout_for`): they exist for MLRun's readers, which
read V3IO; modelmon's readers read modelmon's own tables (``app-results-latest``, ``app-results-history``,
``metrics-history``) on every backend.

Redelivered and recomputed windows: MLRun's TSDB keeps the first sample per series and time, and drops a
sample older than its series' latest. So there, as with MLRun's own writer, a window shows its first
computation, and a window that arrives after a later window of the same result is not added;
modelmon's history tables (``modelmon.writer.history``) show the newest computation of every window. The
KV items are written only for the results whose latest-results item this event replaced, so they never
move back to an older window.
"""

from __future__ import annotations

import datetime
import json
import logging

import pandas as pd

from modelmon.backends.base import Backend, Update
from modelmon.core.paths import ProjectPaths
from modelmon.core.results import ModelMonitoringApplicationResult, stored_value
from modelmon.events import WriterEvent
from modelmon.writer.history import MAX_EXTRA_DATA_BYTES, bounded_extra_data
from modelmon.writer.latest import Stored

log = logging.getLogger(__name__)

RESULT_LABELS = ("endpoint_id", "application_name", "result_name")
METRIC_LABELS = ("endpoint_id", "application_name", "metric_name")
#: The schema files of the per-endpoint tables (key attribute, fields): MLRun's, the metrics one listing
#: every attribute so that a read of all of them works too (MLRun's lists the two names only).
RESULTS_SCHEMA = ("application_name", {"application_name": "string", "result_name": "string"})
METRICS_SCHEMA = ("metric_id", {"metric_id": "string", "application_name": "string", "metric_name": "string",
                                "metric_value": "double", "start_infer_time": "string", "end_infer_time": "string"})


#: The shortest cut of an extra data (room for the truncation marker alone).
_SMALLEST_LIMIT = 3_000
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def infer_time(ms: int) -> str:
    """Epoch ms as MLRun's writer events spell a window's bounds.

    >>> infer_time(1_704_067_200_000)
    '2024-01-01 00:00:00.000000+00:00'
    """
    moment = _EPOCH + datetime.timedelta(milliseconds=ms)  # exact, unlike a float of seconds
    return moment.isoformat(sep=" ", timespec="microseconds")


def mlrun_layout_for(backend: Backend, paths: ProjectPaths) -> MLRunLayout | None:
    """The MLRun-table writer when ``backend`` is one MLRun's readers read (V3IO), else ``None``."""
    return MLRunLayout(backend, paths) if backend.name == "v3io" else None


class MLRunLayout:
    """Writes each writer event into MLRun's results and metrics tables: one TSDB write per kind, one KV
    batch per per-endpoint table."""

    def __init__(self, backend: Backend, paths: ProjectPaths) -> None:
        self._backend = backend
        self._paths = paths
        self._schemas: set[str] = set()  # tables whose schema file this process wrote
        backend.tsdb.create_table(paths.mlrun_results_tsdb)
        backend.tsdb.create_table(paths.mlrun_metrics_tsdb)

    def write(self, event: WriterEvent, stored: Stored) -> None:
        """``event``'s rows in MLRun's TSDB tables, and its results and metrics that ``stored`` says are
        the latest in MLRun's per-endpoint KV tables."""
        results_table: str | None
        metrics_table: str | None
        try:
            results_table = self._paths.mlrun_endpoint_results_table(event.endpoint_id)
            metrics_table = self._paths.mlrun_endpoint_metrics_table(event.endpoint_id)
        except ValueError as exc:  # an endpoint id that names a project table: no per-endpoint tables
            log.warning("%s; MLRun's per-endpoint tables are not written", exc)
            results_table = metrics_table = None
        tsdb = self._backend.tsdb
        base = {"time": event.end_ms, "endpoint_id": event.endpoint_id, "application_name": event.app_name}
        if event.results:
            tsdb.write(self._paths.mlrun_results_tsdb, pd.DataFrame({
                **base, "result_name": [r.name for r in event.results],
                "result_value": [r.value for r in event.results],
                "result_status": [int(r.status) for r in event.results],
                "result_kind": [int(r.kind) for r in event.results]}), list(RESULT_LABELS))
        if event.metrics:
            tsdb.write(self._paths.mlrun_metrics_tsdb, pd.DataFrame({
                **base, "metric_name": [m.name for m in event.metrics],
                "metric_value": [m.value for m in event.metrics]}), list(METRIC_LABELS))
        newest = [r for r in event.results if r.name in stored.results]
        if results_table is not None and newest:
            self._schema(results_table, RESULTS_SCHEMA)
            self._backend.kv.update_many(results_table, [Update(event.app_name, {
                r.name: self._attribute(event, r) for r in newest})])
        if metrics_table is not None and event.metrics and stored.metrics:
            self._schema(metrics_table, METRICS_SCHEMA)
            self._backend.kv.update_many(metrics_table, [Update(f"{event.app_name}.{m.name}", {
                "application_name": event.app_name, "metric_name": m.name, "metric_value": stored_value(m.value),
                "start_infer_time": infer_time(event.start_ms), "end_infer_time": infer_time(event.end_ms)})
                for m in event.metrics])

    @staticmethod
    def _attribute(event: WriterEvent, result: ModelMonitoringApplicationResult) -> str:
        """One result's attribute: JSON in MLRun's order (its writer event minus endpoint, app and result
        name), within V3IO's text attribute size (the extra data's JSON text is escaped inside it, so it is
        cut shorter than in modelmon's own tables)."""
        limit = MAX_EXTRA_DATA_BYTES
        while True:
            text = json.dumps({
                "result_value": stored_value(result.value), "result_kind": int(result.kind),
                "result_status": int(result.status), "result_extra_data": bounded_extra_data(result.extra_data, limit),
                "current_stats": "{}", "start_infer_time": infer_time(event.start_ms),
                "end_infer_time": infer_time(event.end_ms)})
            if len(text) <= MAX_EXTRA_DATA_BYTES or limit <= _SMALLEST_LIMIT:
                return text
            limit = max(_SMALLEST_LIMIT, limit * MAX_EXTRA_DATA_BYTES // len(text) - 1_000)

    def _schema(self, table: str, schema: tuple[str, dict[str, str]]) -> None:
        """The table's ``.#schema`` file, once per process (rewriting it is harmless)."""
        if table in self._schemas:
            return
        from modelmon.backends.v3io.schema import write_kv_schema  # the v3io clients load with the backend
        write_kv_schema(self._backend.objects, table, *schema)
        self._schemas.add(table)
