"""The API over a home of one-minute windows that has no project record (as older demos wrote it): readers
then assume the default 10-minute period, yet a window's histograms are found from its start (or exactly
from its start and end), traffic is drawn in minutes even over a 7-day range, detected results say which are
still current, and an alert config fires and resolves on them. The windows are analysed by the real apps,
stored by the real writer and evaluated by the real alert evaluator."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from alert_activations import DELAY_MS, Alerting
from stored_traffic import store_requests

from modelmon import queries
from modelmon.apps.builtin.data_quality import DataQualityApplication
from modelmon.apps.builtin.histogram_drift import HistogramDataDriftApplication
from modelmon.apps.registry import AppRegistry
from modelmon.apps.runner.runner import AppRunner
from modelmon.backends import make_backend
from modelmon.core.config import Settings
from modelmon.core.paths import ProjectPaths
from modelmon.core.project_record import read_record
from modelmon.endpoints.registration import register_model_endpoint
from modelmon.events import WindowEvent
from modelmon.ui.app import create_app
from modelmon.ui.context import UIContext
from modelmon.writer import ResultWriter

PROJECT = "clinic"
PATHS = ProjectPaths(PROJECT)
MINUTE = 60_000
T0 = 1_764_516_000_000  # 2025-11-30T15:20Z
ROWS = 240  # per minute
#: Per endpoint, the shift of ``dose`` (in standard deviations x 10) in each one-minute window.
SHIFTS = {"back-to-normal": [0, 30, 30, 0], "drifting": [0, 0, 30, 30]}
NOW = T0 + 4 * MINUTE + 30_000
APPS = {"histogram-data-drift": HistogramDataDriftApplication(), "data-quality": DataQualityApplication()}
#: An alert on the drifted-features share (auto reset): fires when a minute drifts, resolves when one is back.
DRIFT_ALERT = {"name": "dose-drift", "severity": "medium", "trigger": {"events": ["data_drift_detected"]},
               "entities": {"results": ["drifted_features_share"]}}


def _traffic(backend, endpoint_id: str, minute: int, shift: float, rng: np.random.Generator) -> None:
    start = T0 + minute * MINUTE
    times = start + np.arange(ROWS) * (MINUTE // ROWS)
    latency = rng.uniform(1_000, 3_000, ROWS).round()
    errors = np.arange(ROWS) % 80 == 0  # 3 a minute
    frame = pd.DataFrame({"timestamp": times[~errors], "request_id": [f"{minute}-{i}" for i in np.flatnonzero(~errors)],
                          "latency_us": latency[~errors], "dose": rng.normal(50 + shift, 10, ROWS)[~errors]})
    batch = f"{endpoint_id[:6]}-{minute}"
    store_requests(backend, PATHS, endpoint_id, batch, frame, times, latency, errors)


@pytest.fixture(scope="module")
def clinic(tmp_path_factory):
    home = tmp_path_factory.mktemp("minutes") / "home"
    settings = Settings(home=str(home), project=PROJECT)
    backend = make_backend(settings)
    rng = np.random.default_rng(11)
    reference = pd.DataFrame({"dose": rng.normal(50, 10, 2000)})
    registry = AppRegistry(backend.kv, PATHS)
    for name, app in APPS.items():
        registry.register(name, f"{type(app).__module__}:{type(app).__name__}")
    writer = ResultWriter(backend, PATHS, clock=lambda: NOW)
    alerting = Alerting(backend, PATHS, [DRIFT_ALERT])
    ids = {}
    for name, shifts in SHIFTS.items():
        ids[name] = register_model_endpoint(backend, PROJECT, name, reference_data=reference).endpoint_id
        for minute, shift in enumerate(shifts):
            _traffic(backend, ids[name], minute, shift, rng)
        for app_name, app in APPS.items():
            runner = AppRunner(app, app_name, backend, PATHS)
            for minute in range(len(shifts)):
                event = runner.analyse(WindowEvent(PROJECT, ids[name], app_name, T0 + minute * MINUTE,
                                                   T0 + (minute + 1) * MINUTE, name))
                writer.write(event)
                alerting.evaluate([event])  # as the alerts function does, beside the writer
    with warnings.catch_warnings():  # starlette's test client asks for httpx2 (unreleased) on import
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

        client = TestClient(create_app(UIContext(settings, backend, PROJECT, clock=lambda: NOW)))
    yield {"home": home, "backend": backend, "ids": ids, "client": client, "settings": settings}
    client.close()
    backend.close()


def test_the_home_has_no_project_record_and_the_default_period_is_longer(clinic):
    assert read_record(clinic["home"], PROJECT) == {}
    assert clinic["settings"].base_period_minutes == 10


def test_a_windows_histograms_are_found_from_its_start(clinic):
    client, start = clinic["client"], T0 + 2 * MINUTE
    body = client.get(f"/api/endpoints/drifting/histograms?start_ms={start}&feature=dose").json()
    assert (body["window"]["start_ms"], body["window"]["end_ms"]) == (start, start + MINUTE)
    assert body["window_rows"] == ROWS - 3  # the window's own rows, not ten minutes of them
    exact = client.get(f"/api/endpoints/drifting/histograms?start_ms={start}&end_ms={start + MINUTE}").json()
    assert exact == body  # dose is the only feature


@pytest.mark.parametrize(("query", "status", "parameter"), [
    (f"start_ms={T0}&end_ms={T0}", 400, "end_ms"),
    (f"start_ms={T0}&end_ms=later", 400, "end_ms"),
    (f"start_ms={T0}&end_ms={T0 + 2 * MINUTE}", 404, None),  # no window is two minutes long
    (f"start_ms={T0 + 30_000}", 404, None),
])
def test_a_window_that_was_not_analysed_is_refused(clinic, query, status, parameter):
    response = clinic["client"].get(f"/api/endpoints/drifting/histograms?{query}")
    assert response.status_code == status and response.json().get("parameter") == parameter


def test_traffic_steps_follow_the_minutes_it_covers_not_the_range(clinic):
    traffic = clinic["client"].get("/api/endpoints/drifting").json()["traffic"]  # the default 7 days
    assert traffic["step_ms"] == MINUTE
    assert traffic["covered"] == {"start_ms": T0, "end_ms": T0 + 4 * MINUTE}
    assert [p["time_ms"] for p in traffic["points"]] == [T0 + k * MINUTE for k in range(4)]
    assert {(p["requests"], p["errors"]) for p in traffic["points"]} == {(ROWS - 3, 3)}
    empty = clinic["client"].get(f"/api/endpoints/drifting?until={T0 - 1}").json()["traffic"]  # until is inclusive
    assert empty == {"step_ms": MINUTE, "covered": None, "points": []}


def test_a_detection_is_current_while_its_window_is_the_results_latest_and_detected(clinic):
    body = clinic["client"].get("/api/alerts").json()["detections"]
    latest = queries.latest_results(clinic["backend"], PROJECT).set_index(["endpoint_id", "app_name", "result_name"])
    for found in body["items"]:
        row = latest.loc[(found["endpoint_id"], found["app"], found["result"])]
        assert found["current"] == (row["end_ms"] == found["end_ms"] and row["status"] == 2)
    assert body["current"] == sum(d["current"] for d in body["items"]) > 0
    by_name = {name: [d for d in body["items"] if d["endpoint_name"] == name] for name in SHIFTS}
    # drifted in minutes 1 and 2, then back: every detection is past
    assert {d["end_ms"] for d in by_name["back-to-normal"]} == {T0 + 2 * MINUTE, T0 + 3 * MINUTE}
    assert not any(d["current"] for d in by_name["back-to-normal"])
    # drifted in minutes 2 and 3: the last minute's detections are current, the one before past
    drift = {(d["end_ms"], d["current"]) for d in by_name["drifting"] if d["result"] == "drifted_features_share"}
    assert drift == {(T0 + 3 * MINUTE, False), (T0 + 4 * MINUTE, True)}
    endpoint = clinic["client"].get("/api/endpoints/drifting").json()["detections"]
    assert [(d["key"], d["current"]) for d in endpoint] == [(d["key"], d["current"]) for d in by_name["drifting"]]


def test_the_apps_results_fire_and_resolve_an_alert(clinic):
    """The real apps' drifted-features share, evaluated by the real evaluator: back-to-normal's alert fired in
    minute 1 and resolved in minute 3; drifting's fired in minute 2 and is still active."""
    body = clinic["client"].get("/api/alerts").json()
    assert (body["total"], body["active"]) == (2, 1)
    drifting, back = body["alerts"]
    assert (drifting["endpoint_name"], drifting["state"], drifting["window_end_ms"]) == (
        "drifting", "active", T0 + 3 * MINUTE)
    assert (back["endpoint_name"], back["state"], back["status"]) == ("back-to-normal", "resolved", "no_detection")
    assert [(h["transition"], h["window_end_ms"], h["time_ms"]) for h in back["history"]] == [
        ("fired", T0 + 2 * MINUTE, T0 + 2 * MINUTE + DELAY_MS),
        ("resolved", T0 + 4 * MINUTE, T0 + 4 * MINUTE + DELAY_MS)]
    assert [(h["endpoint_name"], h["transition"]) for h in body["history"]] == [
        ("back-to-normal", "resolved"), ("drifting", "fired"), ("back-to-normal", "fired")]
    assert all(h["deliveries"] == [] for h in body["history"])  # the config sends to no channel
    assert [a["state"] for a in clinic["client"].get("/api/endpoints/drifting").json()["alerts"]] == ["active"]
