"""Application results and metrics in MLRun's own tables, so MLRun's dashboards and SDK read them.

MLRun's writer keeps (``mlrun/model_monitoring/db/tsdb/v3io``, ``db/stores/v3io_kv``):

- TSDB ``monitoring-apps/app-results``: time = window end; labels ``endpoint_id``, ``application_name``,
  ``result_name``; columns ``result_value``, ``result_status``, ``result_kind`` (numbers) and ``start_infer_time``
  (text: a string metric of V3IO TSDB);
- TSDB ``monitoring-apps/metrics``: the same labels with ``metric_name``; columns ``metric_value``,
  ``start_infer_time``;
- KV ``monitoring-apps/<endpoint_id>``: key = app name, one attribute per result name holding the
  result as JSON text (``result_value``, ``result_kind``, ``result_status``, ``result_extra_data``,
  ``current_stats``, ``start_infer_time``, ``end_infer_time``), and a ``.#schema`` file (key
  ``application_name``, field ``result_name``) for Grafana's frames KV reader, which lists the apps;
- KV ``monitoring-apps/<endpoint_id>_metrics``: key ``<app>.<metric>``; attributes ``application_name``,
  ``metric_name``, ``metric_value``, ``start_infer_time``, ``end_infer_time``.

Times in them are text as MLRun writes them (``2024-01-01 00:00:00.000000+00:00``). A result attribute's
``current_stats`` is ``{}``: writer events do not carry the window's statistics.

The histogram drift app's ``general_drift`` result also feeds what MLRun's writer takes from it
(``_update_model_endpoint_if_needed``: that app's ``general_drift`` only): the endpoint item's
``drift_measures`` (per feature ``tvd``/``hellinger``/``kld`` as the app's extra data lists them, and the
means and sums over the scored features, MLRun 1.6's keys, which the *Overall Drift Analysis* panel shows)
and ``current_stats`` (the window's statistics over the reference's bins, as the app's context computes
them, read back from the sample store), and a ``drift_measures`` row of the ``events`` TSDB at the window end
(``tvd_mean``, ``hellinger_mean``, ``kld_mean``, as MLRun 1.6's batch job wrote; the *Drift Measures* panel).

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
import math
from typing import Any

import pandas as pd

from modelmon.backends.base import Backend, Update
from modelmon.core.paths import ProjectPaths
from modelmon.core.results import ModelMonitoringApplicationResult, plain_json, stored_value
from modelmon.endpoints.store import EndpointStore
from modelmon.events import WriterEvent
from modelmon.stream.live_stats import EVENTS_LABELS, NODE_ENDPOINT
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

#: MLRun's names (``HistogramDataDriftApplicationConstants``): the app and result its writer takes the
#: endpoint's drift measures from.
HISTOGRAM_APP = "histogram-data-drift"
GENERAL_DRIFT = "general_drift"
#: The distances of MLRun's drift measures, and the ``events`` rows' record type.
DISTANCES = ("tvd", "hellinger", "kld")
DRIFT_MEASURES = "drift_measures"

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
        self._endpoints = EndpointStore(backend.kv, paths)
        backend.tsdb.create_table(paths.mlrun_results_tsdb)
        backend.tsdb.create_table(paths.mlrun_metrics_tsdb)
        backend.tsdb.create_table(paths.events_tsdb)

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
                "result_kind": [int(r.kind) for r in event.results],
                "start_infer_time": infer_time(event.start_ms)}), list(RESULT_LABELS))
        if event.metrics:
            tsdb.write(self._paths.mlrun_metrics_tsdb, pd.DataFrame({
                **base, "metric_name": [m.name for m in event.metrics],
                "metric_value": [m.value for m in event.metrics],
                "start_infer_time": infer_time(event.start_ms)}), list(METRIC_LABELS))
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
        measures = drift_measures(event)
        if measures is not None:
            self._write_drift(event, measures)

    def _write_drift(self, event: WriterEvent, measures: dict[str, Any]) -> None:
        """The window's ``drift_measures`` row in the ``events`` TSDB, and MLRun's drift attributes of the
        endpoint item unless a later window's are there."""
        means = {f"{d}_mean": measures[f"{d}_mean"] for d in DISTANCES if f"{d}_mean" in measures}
        if means:
            self._backend.tsdb.write(self._paths.events_tsdb, pd.DataFrame([{
                "time": event.end_ms, "endpoint_id": event.endpoint_id, "record_type": DRIFT_MEASURES,
                "endpoint_type": str(NODE_ENDPOINT), **means}]), list(EVENTS_LABELS))
        self._endpoints.update_drift_measures(event.endpoint_id, event.end_ms, lambda: {
            "drift_measures": bounded_extra_data(measures), "current_stats": self._current_stats(event)})

    def _current_stats(self, event: WriterEvent) -> str:
        """The window's statistics over the reference's bins, as the app's ``sample_df_stats`` (MLRun's
        padding), JSON within V3IO's attribute size (the features that fit, in order)."""
        from modelmon.apps.sdk.mlrun_stats import padded_stats  # the stats code loads only when needed
        from modelmon.stats import sample_df_stats

        endpoint = self._endpoints.get(event.endpoint_id)
        if endpoint is None or not endpoint.feature_stats:
            return "{}"
        window = self._backend.samples.read(event.endpoint_id, event.start_ms, event.end_ms)
        stats = padded_stats(sample_df_stats(window, endpoint.feature_stats)) if not window.empty else {}
        text, kept = whole_features(plain_json(stats, "current_stats"))
        if kept < len(stats):
            log.warning("endpoint %s: current_stats keep %d of %d features (V3IO's attribute size)",
                        event.endpoint_id, kept, len(stats))
        return text

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


def drift_measures(event: WriterEvent) -> dict[str, Any] | None:
    """MLRun's ``drift_measures`` of a histogram drift app's window (``None`` for other apps' events, and for a
    window the app could not score): ``{feature: {"tvd", "hellinger", "kld"}}`` from ``general_drift``'s
    extra data (the features it lists), then ``<distance>_mean`` (the app's metrics) and ``<distance>_sum``
    (mean × scored features: the app's means are over the scored features).

    >>> from modelmon.core.results import ModelMonitoringApplicationMetric as M, ModelMonitoringApplicationResult as R
    >>> extra = {"features_scored": 2, "features": {"x": {"tvd": 0.5, "hellinger": 0.4, "kld": 1.0, "status": 2}}}
    >>> event = WriterEvent("p", "e", HISTOGRAM_APP, 0, 60_000, (R(GENERAL_DRIFT, 0.3, 0, 1, extra),),
    ...                     (M("tvd_mean", 0.25),))
    >>> drift_measures(event)
    {'x': {'tvd': 0.5, 'hellinger': 0.4, 'kld': 1.0}, 'tvd_mean': 0.25, 'tvd_sum': 0.5}
    """
    if event.app_name != HISTOGRAM_APP:
        return None
    general = next((r for r in event.results if r.name == GENERAL_DRIFT), None)
    extra = general.extra_data if general is not None else {}
    features, scored = extra.get("features"), extra.get("features_scored")
    if not isinstance(features, dict) or not isinstance(scored, int) or isinstance(scored, bool) or scored < 1:
        return None
    measures: dict[str, Any] = {
        str(name): {d: values[d] for d in DISTANCES if d in values}
        for name, values in features.items() if isinstance(values, dict)}
    metrics = {m.name: m.value for m in event.metrics}
    for distance in DISTANCES:
        mean = metrics.get(f"{distance}_mean")
        if isinstance(mean, int | float) and math.isfinite(mean):
            measures[f"{distance}_mean"] = float(mean)
            measures[f"{distance}_sum"] = float(mean) * scored
    return measures


def whole_features(stats: dict[str, Any], limit: int = MAX_EXTRA_DATA_BYTES) -> tuple[str, int]:
    """``stats`` as JSON of at most ``limit`` bytes, keeping the features that fit whole, in order (a reader of
    ``current_stats`` expects each feature's full entry, and feature names only as keys); and how many.

    >>> whole_features({"a": {"hist": [1]}, "b": {"hist": [2, 3]}}, limit=30)
    ('{"a": {"hist": [1]}}', 1)
    """
    text = json.dumps(stats)
    if len(text) <= limit:
        return text, len(stats)
    kept: dict[str, Any] = {}
    used = 2  # the braces
    for name, entry in stats.items():
        size = len(json.dumps({name: entry})) - 2 + (2 if kept else 0)  # ", " between entries
        if used + size > limit:
            break
        kept[name] = entry
        used += size
    return json.dumps(kept), len(kept)
