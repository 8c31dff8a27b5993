"""Generated homes read back through the SDK's readers and the UI's API: what ``synthetic_home`` says it wrote is
what a reader finds, laid out as the functions lay it out."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from modelmon import queries
from modelmon.backends import make_backend
from modelmon.core.paths import ProjectPaths
from modelmon.core.results import ResultStatusApp
from modelmon.endpoints.store import EndpointStore
from modelmon.result_frames import feature_drift
from modelmon.stream import read_predictions
from modelmon.testing.synthetic import RECENT_RESULTS, RECENT_WINDOWS, RESULTS, synthetic_home
from modelmon.ui.app import create_app
from modelmon.ui.context import UIContext

END = 1_764_516_000_000  # 2025-11-30T15:20Z
NOW = END + 120_000


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return synthetic_home(tmp_path_factory.mktemp("synthetic") / "home", endpoints=60, days=2, detailed=2,
                          results_per_window=12, features=5, end_ms=END, seed=4)


@pytest.fixture(scope="module")
def backend(built):
    b = make_backend(built.settings())
    yield b
    b.close()


@pytest.fixture(scope="module")
def client(built, backend):
    with warnings.catch_warnings():  # starlette's test client asks for httpx2 (unreleased) on import
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

        c = TestClient(create_app(UIContext(built.settings(), backend, built.project, clock=lambda: NOW)))
    yield c
    c.close()


def test_endpoints_records_and_their_drift_status(built, backend):
    endpoints = queries.list_endpoints(backend, built.project)
    assert len(endpoints) == 60 and set(endpoints["endpoint_id"]) == set(built.endpoint_ids)
    assert dict(zip(endpoints["endpoint_id"], endpoints["name"], strict=True)) == built.names
    latest = queries.latest_results(backend, built.project)
    worst = latest.groupby("endpoint_id")["status"].max()
    assert dict(zip(endpoints["endpoint_id"], endpoints["drift_status"], strict=True)) == worst.to_dict()
    record = EndpointStore(backend.kv, built.project).get(built.endpoint_ids[0])
    assert record is not None and list(record.feature_stats) == record.feature_names == built.features


def test_history_windows_results_and_statuses(built, backend):
    history = queries.result_history(backend, built.project)
    per_endpoint = history.groupby("endpoint_id")
    assert built.windows == 2 * 24 * 6
    for endpoint_id in built.endpoint_ids:
        rows = per_endpoint.get_group(endpoint_id)
        detailed = endpoint_id in built.detailed_ids
        windows, results = (built.windows, 12) if detailed else (RECENT_WINDOWS, RECENT_RESULTS)
        assert rows["end_ms"].nunique() == windows and len(rows) == windows * results
        assert rows["end_ms"].max() == END and rows["end_ms"].min() == END - (windows - 1) * built.period_ms
        assert (rows["end_ms"] - rows["start_ms"] == built.period_ms).all()
    for app, result, _kind, potential, detected in RESULTS:  # statuses are the apps' rule on the thresholds
        rows = history[(history["app_name"] == app) & (history["result_name"] == result)]
        sign = -1 if result == "throughput_per_minute" else 1
        reaches = (lambda v, t: v >= t) if app == "histogram-data-drift" else (lambda v, t: v > t)
        expected = np.where(reaches(sign * rows["value"], sign * detected), 2,
                            np.where(reaches(sign * rows["value"], sign * potential), 1, 0))
        assert (rows["status"].to_numpy() == expected).all(), (app, result)


def test_detailed_endpoints_have_extra_data_metrics_traffic_and_samples(built, backend):
    endpoint_id = built.detailed_ids[0]
    drift = feature_drift(backend, built.project, endpoint_id=endpoint_id, app_name="histogram-data-drift")
    assert drift["end_ms"].nunique() == built.windows and set(drift["feature"]) == set(built.features)
    metrics = queries.metric_history(backend, built.project, endpoint_id=endpoint_id)
    assert metrics["end_ms"].nunique() == built.windows and set(metrics["metric_name"]) == {
        "tvd_mean", "hellinger_mean", "kld_mean", "request_count", "error_count", "rows"}
    traffic = read_predictions(backend.tsdb, ProjectPaths(built.project).predictions_tsdb, endpoint_id, 0, END)
    assert len(traffic) == built.windows * 10 and traffic["time"].min() == END - built.windows * built.period_ms
    samples = backend.samples.read(endpoint_id, END - built.sample_windows * built.period_ms, END)
    assert len(samples) == built.sample_windows * 300 and set(built.features) <= set(samples.columns)
    other = built.endpoint_ids[-1]
    assert backend.samples.read(other, 0, END).empty
    assert len(read_predictions(backend.tsdb, ProjectPaths(built.project).predictions_tsdb, other, 0, END)) == 60


def test_alerts_failures_and_controller_progress(built, backend, client):
    alerts = backend.kv.scan(ProjectPaths(built.project).alerts_table)[0]
    assert len(alerts) == 5
    failures = queries.app_failures(backend, built.project)
    assert len(failures) == 2 and set(failures["error_type"]) == {"KeyError"}
    assert failures["traceback"].str.contains("KeyError: 'segment'").all()
    apps = {a["name"]: a for a in client.get("/api/apps").json()["apps"]}
    assert set(apps) == {"histogram-data-drift", "system-performance", "data-quality"}
    assert all(a["windows_pending"] == 0 for a in apps.values())  # the controller analysed everything
    assert apps["data-quality"]["windows_failed"] == 2


def test_the_same_seed_writes_the_same_values(built, backend, tmp_path):
    again = synthetic_home(tmp_path / "again", endpoints=60, days=2, detailed=2, results_per_window=12, features=5,
                           end_ms=END, seed=4)
    other = make_backend(again.settings())
    try:
        first = queries.result_history(backend, built.project)
        second = queries.result_history(other, again.project)
        assert first.equals(second)
    finally:
        other.close()


def test_the_api_reads_back_the_generated_values(built, backend, client):
    overview = client.get("/api/overview?per_page=10&sort=name").json()
    assert overview["total"] == 60 and [e["name"] for e in overview["endpoints"]] == sorted(built.names.values())[:10]
    statuses = {s.name: 0 for s in ResultStatusApp}
    for status in queries.list_endpoints(backend, built.project)["drift_status_name"]:
        statuses[status] += 1
    assert overview["statuses"] == statuses
    row = overview["endpoints"][0]
    stored = queries.result_history(backend, built.project, endpoint_id=row["endpoint_id"])
    drift = stored[stored["result_name"] == "general_drift"]
    assert [p["value"] for p in row["sparkline"]] == drift["value"].tolist()[-24:]
    assert row["last_window"]["end_ms"] == END
    assert row["requests_per_min"] == pytest.approx(read_predictions(
        backend.tsdb, ProjectPaths(built.project).predictions_tsdb, row["endpoint_id"], NOW - 900_000, NOW)
        ["count"].sum() / 15, abs=1e-3)
    endpoint_id = built.detailed_ids[1]
    body = client.get(f"/api/endpoints/{endpoint_id}?since=3d").json()
    assert len(body["windows"]) == built.windows and len(body["results"]) == 12
    assert all(len(r["points"]) == built.windows for r in body["results"])
    assert len(body["feature_drift"]["windows"]) == built.windows
    traffic = body["traffic"]  # two days of per-minute traffic: 10-minute steps keep it to 300 points at most
    minutes = read_predictions(backend.tsdb, ProjectPaths(built.project).predictions_tsdb, endpoint_id,
                               END - 3 * 86_400_000, NOW)
    assert traffic["step_ms"] == 600_000 and len(traffic["points"]) <= 300
    assert traffic["covered"]["start_ms"] == minutes["time"].min() and sum(
        p["requests"] for p in traffic["points"]) == minutes["count"].sum()
    assert [len(v) for v in body["feature_drift"]["values"]] == [built.windows] * len(built.features)
    start = END - built.period_ms
    histograms = client.get(f"/api/endpoints/{endpoint_id}/histograms?start_ms={start}&feature=x1").json()
    assert histograms["window_total"] == 300 and histograms["reference_total"] == 2_000


def test_alert_activations_follow_the_generated_statuses(built, backend, client):
    """The configs' activations are what the drift statuses of the most drifting endpoints' recent windows give
    (fired at a detected window, resolved at a no-detection one), and the app failures' (one resolved by the
    app's next window)."""
    body = client.get("/api/alerts").json()
    assert [c["name"] for c in body["configs"]] == ["app-failures", "drift"]
    drifting = {d["endpoint_id"] for d in body["detections"]["items"]}  # the 5 most drifting endpoints
    history = queries.result_history(backend, built.project, app_name="histogram-data-drift")
    expected = {}
    for (endpoint_id, result), rows in history[history["endpoint_id"].isin(drifting)].groupby(
            ["endpoint_id", "result_name"]):
        state, fired = None, 0
        for status in rows.sort_values("end_ms")["status"].tolist()[-RECENT_WINDOWS:]:
            if status == ResultStatusApp.detected and state != "active":
                state, fired = "active", fired + 1
            elif status == ResultStatusApp.no_detection and state == "active":
                state = "resolved"
        if state is not None:
            expected[(endpoint_id, result)] = (state, fired)
    drift = {(a["endpoint_id"], a["result"]): (a["state"], a["activations"]) for a in body["alerts"]
             if a["config"] == "drift"}
    assert drift == expected and drift  # the most drifting endpoints detect drift in their last windows
    failures = [a for a in body["alerts"] if a["config"] == "app-failures"]
    assert sorted((a["state"], [h["transition"] for h in a["history"]]) for a in failures) == [
        ("active", ["fired"]), ("resolved", ["fired", "resolved"])]
    assert body["active"] == sum(s == "active" for s, _ in expected.values()) + 1
    assert body["history_total"] == sum(len(a["history"]) for a in body["alerts"])
