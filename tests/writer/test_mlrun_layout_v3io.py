"""MLRun's results and metrics tables, as the writer stores them on the v3io backend, read back through the
real frames client (as MLRun's SDK and Grafana read them) with MLRun's table paths, labels and columns."""

from __future__ import annotations

import json

import pytest
import v3io_frames
from v3io_server.stack import ACCESS_KEY, open_on, running_servers

from modelmon import queries
from modelmon.core.paths import ProjectPaths
from modelmon.core.results import (
    ModelMonitoringApplicationMetric,
    ModelMonitoringApplicationResult,
    ResultKindApp,
    ResultStatusApp,
)
from modelmon.events import WriterEvent
from modelmon.writer import ResultWriter
from modelmon.writer.mlrun_layout import infer_time

PROJECT = "shared"
PATHS = ProjectPaths(PROJECT)
APP = "histogram-data-drift"
EP = "0f3c9a"
T0 = 1_764_516_000_000
PERIOD = 600_000


def _event(window: int, drift: float) -> WriterEvent:
    start = T0 + window * PERIOD
    status = ResultStatusApp.detected if drift >= 0.7 else ResultStatusApp.no_detection
    result = ModelMonitoringApplicationResult("general_drift", drift, ResultKindApp.data_drift, status,
                                              {"features": {"age": drift}})
    return WriterEvent(PROJECT, EP, APP, start, start + PERIOD, (result,),
                       (ModelMonitoringApplicationMetric("tvd_mean", drift / 2),))


@pytest.fixture(scope="module")
def stored():
    """Windows 0 and 2, then window 1 late, window 0 recomputed and window 2 redelivered."""
    with running_servers() as (web, frames):
        _, backend = open_on(web, frames, PROJECT)
        stamps = iter(range(T0 + 10 * PERIOD, T0 + 20 * PERIOD, 1000))
        writer = ResultWriter(backend, PATHS, clock=lambda: next(stamps))
        for window, drift in ((0, 0.1), (2, 0.9), (1, 0.3), (0, 0.5), (2, 0.9)):
            writer.write(_event(window, drift))
        client = v3io_frames.Client(address=frames.address, container="users", token=ACCESS_KEY)
        yield backend, client
        backend.close()


def _tsdb(client, table: str, query: str):
    frame = client.read("tsdb", f"pipelines/{PROJECT}/monitoring-apps/{table}", filter=query, start="0",
                        end="now", multi_index=True)
    return frame.reset_index()


def test_results_tsdb_has_mlruns_labels_and_columns(stored):
    _, client = stored
    rows = _tsdb(client, "app-results", f"endpoint_id=='{EP}' AND application_name ==\"{APP}\"")
    assert sorted(rows.columns) == ["application_name", "endpoint_id", "result_kind", "result_name",
                                    "result_status", "result_value", "start_infer_time", "time"]
    assert rows["start_infer_time"].tolist() == [infer_time(T0), infer_time(T0 + 2 * PERIOD)]  # text, as MLRun's
    # MLRun's TSDB keeps the first computation of a window and drops one older than the series' latest:
    # window 0 reads 0.1 (not the recomputed 0.5) and late window 1 is not there
    assert [(int(t.timestamp() * 1000), v, s, k) for t, v, s, k in rows[
        ["time", "result_value", "result_status", "result_kind"]].itertuples(index=False)] == [
        (T0 + PERIOD, 0.1, 0.0, 0.0), (T0 + 3 * PERIOD, 0.9, 2.0, 0.0)]
    assert set(rows["result_name"]) == {"general_drift"}


def test_metrics_tsdb_has_mlruns_labels_and_columns(stored):
    _, client = stored
    rows = _tsdb(client, "metrics", f"endpoint_id=='{EP}' AND application_name=='{APP}'")
    assert sorted(rows.columns) == ["application_name", "endpoint_id", "metric_name", "metric_value",
                                    "start_infer_time", "time"]
    assert rows["start_infer_time"].tolist() == [infer_time(T0), infer_time(T0 + 2 * PERIOD)]
    assert rows["metric_value"].tolist() == [0.05, 0.45]
    assert set(rows["metric_name"]) == {"tvd_mean"}


def test_modelmon_history_keeps_every_window_newest_computation(stored):
    backend, _ = stored
    history = queries.result_history(backend, PROJECT, endpoint_id=EP, app_name=APP)
    assert history["value"].tolist() == [0.5, 0.3, 0.9]
    assert queries.metric_history(backend, PROJECT, endpoint_id=EP)["value"].tolist() == [0.25, 0.15, 0.45]
    [latest] = queries.latest_results(backend, PROJECT, endpoint_id=EP).to_dict("records")
    assert (latest["value"], latest["end_ms"]) == (0.9, T0 + 3 * PERIOD)


def test_per_endpoint_kv_holds_the_latest_window_of_each_result(stored):
    backend, client = stored
    item = backend.kv.get(PATHS.mlrun_endpoint_results_table(EP), APP)
    assert list(item) == ["general_drift"]
    assert json.loads(item["general_drift"]) == {
        "result_value": 0.9, "result_kind": 0, "result_status": 2,
        "result_extra_data": json.dumps({"features": {"age": 0.9}}), "current_stats": "{}",
        "start_infer_time": "2025-11-30 15:40:00.000000+00:00", "end_infer_time": "2025-11-30 15:50:00.000000+00:00"}
    metrics = client.read("kv", f"pipelines/{PROJECT}/monitoring-apps/{EP}_metrics")
    assert metrics.index.tolist() == [f"{APP}.tvd_mean"]
    assert metrics[["application_name", "metric_name", "metric_value", "end_infer_time"]].values.tolist() == [
        [APP, "tvd_mean", 0.45, "2025-11-30 15:50:00.000000+00:00"]]


def test_the_applications_dashboards_panels_read_the_results(stored):
    """MLRun 1.6/1.7's Applications dashboard: every panel reads the results TSDB with this filter (as its
    JSON spells it, spaces and double quotes included) and all columns, then charts one of them."""
    _, client = stored
    rows = client.read("tsdb", f"pipelines/{PROJECT}/monitoring-apps/app-results", start="0", end="now",
                       filter=f"  endpoint_id=='{EP}' AND application_name ==\"{APP}\"")
    rows = rows.reset_index() if "time" not in rows.columns else rows
    assert rows["result_status"].value_counts().sort_index().to_dict() == {0.0: 1, 2.0: 1}  # Drift Status pie
    assert rows["result_value"].mean() == pytest.approx(0.5)  # Average Drift Value gauge
    last = rows.sort_values("time").iloc[-1]  # Latest Result stat
    assert (last["result_name"], last["result_value"], last["result_kind"], last["result_status"]) == (
        "general_drift", 0.9, 0.0, 2.0)
    other = client.read("tsdb", f"pipelines/{PROJECT}/monitoring-apps/app-results", start="0", end="now",
                        filter=f"endpoint_id=='{EP}' AND application_name ==\"another-app\"")
    assert other.empty


def test_the_18_metrics_panel_counts_a_metrics_windows(stored):
    """MLRun 1.8's Applications dashboard '# Metrics' (its query as docs/mlrun-dashboards.md lists it): how
    often a metric was computed."""
    _, client = stored
    counted = client.read("tsdb", f"pipelines/{PROJECT}/monitoring-apps/metrics", start="0", end="now",
                          filter=f"endpoint_id=='{EP}' AND metric_name=='tvd_mean'", aggregators="count",
                          step="1h", columns=["metric_value"])
    assert counted.filter(like="count").sum().sum() == 2


def test_the_applications_dashboards_app_picker_lists_the_endpoints_apps(stored):
    """Its $APPLICATION variable: KV ``monitoring-apps/$MODELENDPOINT``, ``fields=__name``."""
    _, client = stored
    names = client.read("kv", f"pipelines/{PROJECT}/monitoring-apps/{EP}", columns=["__name"])
    assert names["__name"].tolist() == [APP]
