"""The UI on the v3io backend (the V3IO web-API and frames test servers): the same API over what the writer
stored there, through the filtered scans the UI uses instead of key lookups; and ``modelmon ui`` serving it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import warnings

import httpx
import numpy as np
import pandas as pd
import pytest
from alert_activations import Alerting
from v3io_server.stack import ACCESS_KEY, open_on, running_servers

from modelmon.core.paths import ProjectPaths
from modelmon.core.results import (
    ModelMonitoringApplicationMetric,
    ModelMonitoringApplicationResult,
    ResultKindApp,
    ResultStatusApp,
)
from modelmon.endpoints.registration import register_model_endpoint
from modelmon.events import WriterEvent
from modelmon.stream.aggregate import PREDICTION_LABELS, predictions_frame
from modelmon.ui.app import create_app
from modelmon.ui.context import UIContext
from modelmon.writer import ResultWriter

PROJECT = "remote"
PATHS = ProjectPaths(PROJECT)
PERIOD = 600_000
T0 = 1_764_516_000_000
NOW = T0 + 3 * PERIOD + 60_000
DRIFT = [0.1, 0.2, 0.9]
LATENCY = [300_000.0, 350_000.0, 1_200_000.0]


@pytest.fixture(scope="module")
def v3io():
    """The servers, a v3io backend on them and what the writer stored for endpoints ``churn`` and ``fraud``."""
    with running_servers() as (web, frames):
        settings, backend = open_on(web, frames, PROJECT)
        rng = np.random.default_rng(3)
        reference = pd.DataFrame({"age": rng.normal(40, 10, 500)})
        ids = {name: register_model_endpoint(backend, PROJECT, name, reference_data=reference).endpoint_id
               for name in ("churn", "fraud")}
        writer = ResultWriter(backend, PATHS, clock=lambda: NOW)
        alerting = Alerting(backend, PATHS, [{"name": "drift", "trigger": {"events": ["data_drift_detected"]}}])
        for k, (drift, latency) in enumerate(zip(DRIFT, LATENCY, strict=True)):
            start = T0 + k * PERIOD
            status = ResultStatusApp.detected if drift >= 0.7 else ResultStatusApp.no_detection
            general = ModelMonitoringApplicationResult(
                "general_drift", drift, ResultKindApp.data_drift, status,
                {"thresholds": {"potential": 0.5, "detected": 0.7},
                 "features": {"age": {"tvd": drift / 2, "hellinger": drift / 3, "status": int(status)}}})
            event = WriterEvent(PROJECT, ids["churn"], "histogram-data-drift", start, start + PERIOD, (general,),
                                (ModelMonitoringApplicationMetric("tvd_mean", drift / 2),), endpoint_name="churn")
            writer.write(event)
            alerting.evaluate([event])
            p99 = ModelMonitoringApplicationResult("latency_p99_us", latency, ResultKindApp.system_performance,
                                                   ResultStatusApp.no_detection, {"slo": None})
            writer.write(WriterEvent(PROJECT, ids["churn"], "system-performance", start, start + PERIOD, (p99,)))
        times = np.arange(NOW - 600_000, NOW, 2_000)  # one request every 2 s over the last 10 minutes
        backend.tsdb.create_table(PATHS.predictions_tsdb)
        backend.tsdb.write(PATHS.predictions_tsdb, predictions_frame(ids["churn"], "b1", times,
                                                                     np.full(times.size, 1_000.0),
                                                                     np.zeros(times.size, dtype=bool)),
                           labels=list(PREDICTION_LABELS))
        with warnings.catch_warnings():  # starlette's test client asks for httpx2 (unreleased) on import
            warnings.simplefilter("ignore")
            from starlette.testclient import TestClient

            client = TestClient(create_app(UIContext(settings, backend, PROJECT, clock=lambda: NOW)))
        yield {"web": web, "frames": frames, "ids": ids, "client": client}
        client.close()
        backend.close()


def test_overview_on_v3io(v3io):
    body = v3io["client"].get("/api/overview").json()
    assert body["total"] == 2 and body["statuses"]["detected"] == 1
    churn = body["endpoints"][0]
    assert (churn["name"], churn["drift_status_name"]) == ("churn", "detected")
    assert [p["value"] for p in churn["sparkline"]] == DRIFT
    assert churn["latency_p99_us"] == LATENCY[-1]
    assert churn["requests_per_min"] == round(300 / 15, 3) and churn["error_rate"] == 0.0
    assert churn["last_window"]["end_ms"] == T0 + 3 * PERIOD
    by_latency = v3io["client"].get("/api/overview?sort=latency_p99_us").json()["endpoints"]
    assert [e["latency_p99_us"] for e in by_latency] == [LATENCY[-1], None]


def test_endpoint_and_alerts_on_v3io(v3io):
    client = v3io["client"]
    body = client.get("/api/endpoints/churn").json()
    results = {r["result"]: r for r in body["results"]}
    assert [p["value"] for p in results["general_drift"]["points"]] == DRIFT
    assert results["general_drift"]["thresholds"] == {"potential": 0.5, "detected": 0.7}
    assert results["latency_p99_us"]["thresholds"] is None
    assert [p["value"] for p in body["metrics"][0]["points"]] == [d / 2 for d in DRIFT]
    heat = body["feature_drift"]
    assert heat["features"] == ["age"] and heat["values"] == [[d / 2 for d in DRIFT]]
    assert heat["drifted"] == [[False, False, True]]
    assert sum(p["requests"] for p in body["traffic"]["points"]) == 300
    assert [(d["result"], d["end_ms"]) for d in body["detections"]] == [("general_drift", T0 + 3 * PERIOD)]
    assert [(a["config"], a["state"], a["window_end_ms"]) for a in body["alerts"]] == [
        ("drift", "active", T0 + 3 * PERIOD)]
    alerts = client.get("/api/alerts").json()
    assert [(d["endpoint_name"], d["value"]) for d in alerts["detections"]["items"]] == [("churn", DRIFT[-1])]
    assert [(a["endpoint_name"], a["value"], a["state"]) for a in alerts["alerts"]] == [("churn", DRIFT[-1], "active")]
    assert [h["transition"] for h in alerts["history"]] == ["fired"]
    # the scan filters of one endpoint's activations, evaluated by the web-API server
    assert client.get("/api/alerts?endpoint=fraud").json()["alerts"] == []
    assert client.get("/api/alerts?endpoint=churn&state=resolved").json()["alerts"] == []
    assert len(client.get("/api/alerts?endpoint=churn&state=active").json()["alerts"]) == 1
    assert client.get("/api/endpoints/nosuch").status_code == 404


def test_modelmon_ui_serves_a_v3io_project(v3io, tmp_path):
    env = {**os.environ, "MODELMON_BACKEND": "v3io", "V3IO_API": v3io["web"].url,
           "V3IO_FRAMESD": v3io["frames"].address, "V3IO_ACCESS_KEY": ACCESS_KEY, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "modelmon", "ui", "--project", PROJECT, "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert f"modelmon ui: project '{PROJECT}'" in line, process.stderr.read() if process.stderr else ""
        url = line.split(" at ", 1)[1].split()[0]
        overview = httpx.get(url + "api/overview", timeout=60).json()
        assert overview["total"] == 2 and overview["endpoints"][0]["name"] == "churn"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
