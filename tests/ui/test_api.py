"""The JSON API of ``modelmon ui`` over a home written as a running service writes it: traffic in the sample
store and the predictions/errors TSDB, the built-in apps run on each window by the app runner, their
results stored by the writer. Every value the API returns is checked against what was stored."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from stored_traffic import store_requests

from modelmon import queries
from modelmon.apps.builtin.data_quality import DataQualityApplication
from modelmon.apps.builtin.histogram_drift import HistogramDataDriftApplication
from modelmon.apps.builtin.system_performance import SystemPerformanceApplication
from modelmon.apps.registry import AppRegistry
from modelmon.apps.runner.runner import AppRunner
from modelmon.apps.sdk import ModelMonitoringApplicationBase
from modelmon.backends import make_backend
from modelmon.core.config import Settings
from modelmon.core.paths import ProjectPaths
from modelmon.endpoints.registration import register_model_endpoint
from modelmon.endpoints.store import EndpointStore
from modelmon.events import WindowEvent
from modelmon.ui.app import create_app
from modelmon.ui.context import UIContext
from modelmon.writer import ResultWriter

PROJECT = "shop"
PATHS = ProjectPaths(PROJECT)
PERIOD = 600_000
T0 = 1_764_516_000_000  # 2025-11-30T15:20Z
WINDOWS = 3
ROWS = 300
NOW = T0 + WINDOWS * PERIOD + 300_000  # five minutes after the last window closed
APPS = {"histogram-data-drift": HistogramDataDriftApplication(), "system-performance": SystemPerformanceApplication(),
        "data-quality": DataQualityApplication()}


class BrokenApp(ModelMonitoringApplicationBase):
    def do_tracking(self, monitoring_context):
        raise KeyError("no_such_column")


def client_of(home, project: str = PROJECT, token: str | None = None, now: int = NOW):
    settings = Settings(home=str(home), project=project)
    backend = make_backend(settings)
    with warnings.catch_warnings():  # starlette's test client asks for httpx2 (unreleased) on import
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

        client = TestClient(create_app(UIContext(settings, backend, project, token, clock=lambda: now)))
    return client, backend


def _traffic(backend, endpoint_id: str, window: int, shift: float, rng: np.random.Generator) -> pd.DataFrame:
    start = T0 + window * PERIOD
    times = start + np.arange(ROWS) * (PERIOD // ROWS)
    latency = rng.uniform(1_000, 5_000, ROWS).round()
    errors = np.arange(ROWS) % 150 == 0  # 2 per window (0.7%: within the error-rate SLO), not in the samples
    ok = np.flatnonzero(~errors)
    frame = pd.DataFrame({"timestamp": times[~errors], "request_id": [f"w{window}-{i}" for i in ok],
                          "latency_us": latency[~errors], "age": rng.normal(40 + shift, 10, ROWS)[~errors],
                          "plan": rng.choice(["basic", "pro"], ROWS)[~errors]})
    batch = f"{endpoint_id[:6]}-{window}"
    store_requests(backend, PATHS, endpoint_id, batch, frame, times, latency, errors)
    return frame


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """``churn`` (``age`` shifts by 3 standard deviations in window 2) and ``fraud`` (no shift), 3 windows each
    analysed by the three built-in apps; a broken app fails on churn's window 1."""
    home = tmp_path_factory.mktemp("api") / "home"
    backend = make_backend(Settings(home=str(home), project=PROJECT))
    rng = np.random.default_rng(5)
    reference = pd.DataFrame({"age": rng.normal(40, 10, 2000), "plan": rng.choice(["basic", "pro"], 2000)})
    registry = AppRegistry(backend.kv, PATHS)
    for name, app in {**APPS, "broken": BrokenApp()}.items():
        registry.register(name, f"{type(app).__module__}:{type(app).__name__}")
    ids, samples = {}, {}
    writer = ResultWriter(backend, PATHS, clock=lambda: NOW)
    for name, shifts in (("churn", [0, 0, 30]), ("fraud", [0, 0, 0])):
        endpoint = register_model_endpoint(backend, PROJECT, name, reference_data=reference)
        ids[name] = endpoint.endpoint_id
        for k, shift in enumerate(shifts):
            samples[(name, k)] = _traffic(backend, endpoint.endpoint_id, k, shift, rng)
        for app_name, app in APPS.items():
            runner = AppRunner(app, app_name, backend, PATHS)
            for k in range(WINDOWS):
                writer.write(runner.analyse(WindowEvent(PROJECT, endpoint.endpoint_id, app_name, T0 + k * PERIOD,
                                                        T0 + (k + 1) * PERIOD, name)))
    runner = AppRunner(BrokenApp(), "broken", backend, PATHS)
    writer.write(runner.analyse(WindowEvent(PROJECT, ids["churn"], "broken", T0 + PERIOD, T0 + 2 * PERIOD, "churn")))
    client, reader = client_of(home)
    yield {"home": home, "backend": backend, "ids": ids, "samples": samples, "client": client}
    client.close()
    reader.close()
    backend.close()


def history(shop, name: str) -> pd.DataFrame:
    return queries.result_history(shop["backend"], PROJECT, endpoint_id=shop["ids"][name], extra_data=True)


# ------------------------------------------------------------------------------------------ overview
def test_overview_rows_carry_the_stored_status_window_traffic_latency_and_sparkline(shop):
    body = shop["client"].get("/api/overview").json()
    assert (body["project"], body["total"], body["page"], body["per_page"]) == (PROJECT, 2, 1, 50)
    churn, fraud = body["endpoints"]  # sorted by drift status, worst first
    assert (churn["name"], churn["drift_status_name"], fraud["name"]) == ("churn", "detected", "fraud")
    records = queries.list_endpoints(shop["backend"], PROJECT).set_index("name")
    assert fraud["drift_status"] == records.loc["fraud", "drift_status"]
    assert body["statuses"]["detected"] == 1 and sum(body["statuses"].values()) == 2
    assert churn["last_window"] == {"start_ms": T0 + 2 * PERIOD, "end_ms": T0 + 3 * PERIOD,
                                    "start": "2025-11-30T15:40:00+00:00", "end": "2025-11-30T15:50:00+00:00"}
    stored = history(shop, "churn")
    drift = stored[stored["result_name"] == "general_drift"]
    assert churn["sparkline_result"] == {"app": "histogram-data-drift", "result": "general_drift"}
    assert churn["sparkline"] == [{"end_ms": e, "value": v, "status": s}
                                  for e, v, s in zip(drift["end_ms"], drift["value"], drift["status"], strict=True)]
    latest = queries.latest_results(shop["backend"], PROJECT, endpoint_id=shop["ids"]["churn"],
                                    app_name="system-performance").set_index("result_name")
    assert churn["latency_p99_us"] == latest.loc["latency_p99_us", "value"]
    # the 15 minutes before NOW: the last 10 minutes of window 2 (300 requests, 2 of them errors)
    assert churn["requests_per_min"] == round(298 / 15, 3)
    assert churn["error_rate"] == round(2 / 300, 6)


def test_overview_filters_sorts_and_pages(shop):
    client = shop["client"]
    assert [e["name"] for e in client.get("/api/overview?q=FRA").json()["endpoints"]] == ["fraud"]
    assert [e["name"] for e in client.get(f"/api/overview?q={shop['ids']['churn'][:10]}").json()["endpoints"]] \
        == ["churn"]
    filtered = client.get("/api/overview?status=detected").json()
    assert (filtered["total"], [e["name"] for e in filtered["endpoints"]]) == (1, ["churn"])
    assert client.get("/api/overview?status=2,no_detection").json()["total"] == 2
    by_name = client.get("/api/overview?sort=name&order=desc").json()["endpoints"]
    assert [e["name"] for e in by_name] == ["fraud", "churn"]
    second = client.get("/api/overview?sort=name&per_page=1&page=2").json()
    assert (second["total"], [e["name"] for e in second["endpoints"]]) == (2, ["fraud"])
    assert client.get("/api/overview?sort=name&per_page=1&page=3").json()["endpoints"] == []
    latency = client.get("/api/overview?sort=latency_p99_us&order=asc").json()["endpoints"]
    assert [e["latency_p99_us"] for e in latency] == sorted(e["latency_p99_us"] for e in latency)


@pytest.mark.parametrize(("query", "parameter"), [
    ("sort=colour", "sort"), ("order=sideways", "order"), ("page=0", "page"), ("per_page=many", "per_page"),
    ("per_page=100000", "per_page"), ("status=awful", "status"),
])
def test_overview_rejects_a_bad_parameter_naming_it(shop, query, parameter):
    response = shop["client"].get(f"/api/overview?{query}")
    assert response.status_code == 400
    assert response.json()["parameter"] == parameter and response.json()["error"].startswith(f"{parameter}: ")


# ------------------------------------------------------------------------------------------ endpoint
def test_endpoint_results_metrics_and_thresholds_are_the_stored_ones(shop):
    client, endpoint_id = shop["client"], shop["ids"]["churn"]
    body = client.get(f"/api/endpoints/{endpoint_id}").json()
    assert body["endpoint"]["endpoint_id"] == endpoint_id and body["endpoint"]["name"] == "churn"
    assert "feature_stats" not in body["endpoint"] and body["endpoint"]["feature_names"] == ["age", "plan"]
    assert body["range"]["anchor"] == "now" and body["range"]["until_ms"] == NOW + 1
    assert body["windows"] == [{"start_ms": T0 + k * PERIOD, "end_ms": T0 + (k + 1) * PERIOD} for k in range(3)]
    stored = history(shop, "churn")
    results = {(r["app"], r["result"]): r for r in body["results"]}
    assert set(results) == set(zip(stored["app_name"], stored["result_name"], strict=True))
    for (app, result), rows in stored.groupby(["app_name", "result_name"]):
        got = results[(app, result)]
        assert got["kind"] == rows["kind"].iloc[0] and got["kind_name"] == rows["kind_name"].iloc[0]
        assert got["points"] == [{"start_ms": s, "end_ms": e, "value": v, "status": st} for s, e, v, st in zip(
            rows["start_ms"], rows["end_ms"], rows["value"], rows["status"], strict=True)]
    assert results[("histogram-data-drift", "general_drift")]["thresholds"] == {"potential": 0.5, "detected": 0.7}
    assert results[("histogram-data-drift", "drifted_features_share")]["thresholds_source"] == \
        "extra_data.share_thresholds"
    assert results[("system-performance", "latency_p99_us")]["thresholds"] == {"potential": 800_000.0,
                                                                              "detected": 1_000_000.0}
    assert results[("system-performance", "latency_p50_us")]["thresholds"] is None  # no SLO by default
    assert results[("data-quality", "missing_value_rate")]["thresholds"] == {"potential": 0.05, "detected": 0.2}
    metrics = queries.metric_history(shop["backend"], PROJECT, endpoint_id=endpoint_id)
    got = {(m["app"], m["metric"]): m["points"] for m in body["metrics"]}
    for (app, metric), rows in metrics.groupby(["app_name", "metric_name"]):
        assert got[(app, metric)] == [{"start_ms": s, "end_ms": e, "value": v}
                                      for s, e, v in zip(rows["start_ms"], rows["end_ms"], rows["value"], strict=True)]


def test_endpoint_feature_drift_is_the_apps_per_feature_figures(shop):
    body = shop["client"].get("/api/endpoints/churn?measure=hellinger").json()
    heat = body["feature_drift"]
    assert (heat["app"], heat["result"], heat["measure"], heat["features"]) == \
        ("histogram-data-drift", "general_drift", "hellinger", ["age", "plan"])
    stored = history(shop, "churn")
    drift = stored[stored["result_name"] == "general_drift"]
    assert heat["windows"] == [{"start_ms": s, "end_ms": e} for s, e in zip(drift["start_ms"], drift["end_ms"],
                                                                          strict=True)]
    for column, extra in enumerate(drift["extra_data"]):
        for row, feature in enumerate(heat["features"]):
            assert heat["values"][row][column] == extra["features"][feature]["hellinger"]
            assert heat["drifted"][row][column] == (extra["features"][feature]["status"] == 2)
    assert heat["drifted"][0] == [False, False, True]  # age shifted in window 2 only


def test_endpoint_traffic_data_quality_and_alerts(shop):
    body = shop["client"].get("/api/endpoints/churn").json()
    traffic = body["traffic"]  # 7 days asked, 30 minutes of traffic: minute steps over the minutes it covers
    assert traffic["step_ms"] == 60_000 and traffic["covered"] == {"start_ms": T0, "end_ms": T0 + WINDOWS * PERIOD}
    assert traffic == shop["client"].get("/api/endpoints/churn?since=1d").json()["traffic"]
    points = {p["time_ms"]: p for p in traffic["points"]}
    assert len(points) == WINDOWS * 10 and sum(p["requests"] for p in points.values()) == WINDOWS * 298
    assert sum(p["errors"] for p in points.values()) == WINDOWS * 2
    window = shop["samples"][("churn", 0)]
    minute = window[window["timestamp"] < T0 + 60_000]
    assert points[T0]["requests"] == len(minute)
    assert points[T0]["latency_avg_us"] == round(minute["latency_us"].mean(), 1)
    assert points[T0]["latency_max_us"] == minute["latency_us"].max()
    quality = {q["result"]: q for q in body["data_quality"]}
    latest = queries.latest_results(shop["backend"], PROJECT, endpoint_id=shop["ids"]["churn"],
                                    app_name="data-quality").set_index("result_name")
    assert set(quality) == set(latest.index)
    missing = quality["missing_value_rate"]
    assert (missing["value"], missing["status"]) == (latest.loc["missing_value_rate", "value"],
                                                      latest.loc["missing_value_rate", "status"])
    assert missing["features"] == latest.loc["missing_value_rate", "extra_data"]["features"]
    assert body["alerts"] == []  # no alert config: no activations, but the writer's detected results
    detections = body["detections"]
    assert detections and all(d["endpoint_id"] == shop["ids"]["churn"] for d in detections)
    assert {(d["app"], d["result"], d["end_ms"]) for d in detections} >= {
        ("histogram-data-drift", "drifted_features_share", T0 + 3 * PERIOD)}
    assert [d["end_ms"] for d in detections] == sorted((d["end_ms"] for d in detections), reverse=True)


def test_endpoint_by_name_prefix_range_and_errors(shop):
    client, endpoint_id = shop["client"], shop["ids"]["fraud"]
    assert client.get("/api/endpoints/fraud").json()["endpoint"]["endpoint_id"] == endpoint_id
    assert client.get(f"/api/endpoints/{endpoint_id[:8]}").json()["endpoint"]["name"] == "fraud"
    ranged = client.get(f"/api/endpoints/fraud?since={T0 + PERIOD}&until={T0 + 2 * PERIOD}").json()
    assert ranged["windows"] == [{"start_ms": T0, "end_ms": T0 + PERIOD}, {"start_ms": T0 + PERIOD,
                                                                           "end_ms": T0 + 2 * PERIOD}]
    missing = client.get("/api/endpoints/nosuch")
    assert missing.status_code == 404 and "churn" in missing.json()["error"] and "fraud" in missing.json()["error"]
    bad = client.get("/api/endpoints/fraud?since=yesterday-ish")
    assert bad.status_code == 400 and bad.json()["parameter"] == "since"
    backwards = client.get(f"/api/endpoints/fraud?since={T0}&until={T0 - 1}")
    assert backwards.status_code == 400 and backwards.json()["parameter"] == "since"


def test_an_old_endpoint_opens_on_its_latest_data(shop):
    """Two weeks later, the default range is the 7 days up to the endpoint's last window, not an empty week."""
    client, reader = client_of(shop["home"], now=NOW + 14 * 86_400_000)
    try:
        body = client.get("/api/endpoints/churn").json()
        assert body["range"]["anchor"] == "latest data" and body["range"]["until_ms"] == T0 + 3 * PERIOD + 1
        assert len(body["windows"]) == 3
        assert client.get("/api/endpoints/churn?since=1d").json()["windows"] == []
    finally:
        client.close()
        reader.close()


# ------------------------------------------------------------------------------------------ histograms
def test_window_histograms_use_the_apps_bins_and_give_its_distances(shop):
    client = shop["client"]
    start = T0 + 2 * PERIOD
    body = client.get(f"/api/endpoints/churn/histograms?start_ms={start}&feature=age").json()
    assert body["window"]["start_ms"] == start and body["window"]["end_ms"] == start + PERIOD
    stats = EndpointStore(shop["backend"].kv, PROJECT).get(shop["ids"]["churn"]).feature_stats
    counts, edges = stats["age"]["hist"]
    assert body["edges"] == edges and body["kind"] == "numeric"
    assert body["reference"] == [0.0, *(c / sum(counts) for c in counts), 0.0]
    ages = shop["samples"][("churn", 2)]["age"].to_numpy()
    inside, _ = np.histogram(ages, bins=edges)
    expected = [float((ages < edges[0]).sum()), *inside, float((ages > edges[-1]).sum())]
    assert body["window_counts"] == pytest.approx([c / len(ages) for c in expected], abs=1e-12)
    assert body["window_total"] == len(ages) and body["window_rows"] == len(ages)
    stored = history(shop, "churn")
    app_figures = stored[(stored["result_name"] == "general_drift") & (stored["start_ms"] == start)] \
        .iloc[0]["extra_data"]["features"]["age"]
    for measure in ("tvd", "hellinger", "kld"):
        assert float(f"{body['measures'][measure]:.6g}") == app_figures[measure]
    plan = client.get(f"/api/endpoints/churn/histograms?start_ms={start}&feature=plan").json()
    categories = stats["plan"]["categories"]
    assert plan["kind"] == "categorical" and plan["bins"] == plan["categories"] == [*categories, "other"]
    assert math.isclose(sum(plan["window_counts"]), 1.0) and plan["edges"] is None


@pytest.mark.parametrize(("query", "status", "parameter"), [
    ("", 400, "start_ms"), ("start_ms=soon", 400, "start_ms"), (f"start_ms={T0}&feature=height", 400, "feature"),
    (f"start_ms={T0 + 1}", 404, None),
])
def test_window_histograms_reject_bad_parameters(shop, query, status, parameter):
    response = shop["client"].get(f"/api/endpoints/churn/histograms?{query}")
    assert response.status_code == status
    assert response.json().get("parameter") == parameter
    if parameter == "feature":
        assert "age, plan" in response.json()["error"]


# ------------------------------------------------------------------------------------------ apps, alerts
def test_apps_is_the_status_project_with_tracebacks(shop):
    body = shop["client"].get("/api/apps").json()
    apps = {a["name"]: a for a in body["apps"]}
    assert set(apps) == {*APPS, "broken"} and body["project"] == PROJECT
    assert body["service"]["running"] is False and body["functions"] == []
    assert all(apps[name]["windows_analysed"] == 2 * WINDOWS for name in APPS)
    broken = apps["broken"]
    assert broken["windows_failed"] == 1
    failure = broken["failures_24h"][0]
    assert (failure["endpoint"], failure["start_ms"], failure["error_type"]) == ("churn", T0 + PERIOD, "KeyError")
    stored = queries.app_failures(shop["backend"], PROJECT, app_name="broken").iloc[0]
    assert failure["traceback"] == stored["traceback"] and "raise KeyError" in failure["traceback"]


def test_without_alert_configs_alerts_lists_the_detected_results(shop):
    client = shop["client"]
    body = client.get("/api/alerts").json()
    assert (body["configs"], body["alerts"], body["total"], body["active"], body["history"]) == ([], [], 0, 0, [])
    detections = body["detections"]
    found = detections["items"]
    assert detections["total"] == len(found) > 0
    assert [d["end_ms"] for d in found] == sorted((d["end_ms"] for d in found), reverse=True)
    assert all(d["endpoint_name"] == ("churn" if d["endpoint_id"] == shop["ids"]["churn"] else "fraud")
               for d in found)
    stored = {k: v for k, v in shop["backend"].kv.scan(PATHS.alerts_table)[0]}
    assert {d["key"] for d in found} == set(stored)
    assert all(d["value"] == stored[d["key"]]["value"] for d in found)
    assert all(d["current"] for d in found) and detections["current"] == len(found)  # all of the latest window
    late = client.get(f"/api/alerts?since={T0 + 3 * PERIOD}").json()["detections"]["items"]
    assert late and all(d["end_ms"] >= T0 + 3 * PERIOD for d in late)
    assert client.get("/api/alerts?since=whenever").json()["parameter"] == "since"


def test_an_unknown_api_route_is_a_json_404(shop):
    response = shop["client"].get("/api/endpoint")
    assert response.status_code == 404 and "/api/endpoint" in response.json()["error"]
