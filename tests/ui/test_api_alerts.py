"""``GET /api/alerts`` and the endpoint API's alerts over activations the real alert evaluator made from writer
events (and whose notifications the real outbox delivered or failed): states, history with its
transitions and their deliveries, filters; the writer's detected results beside them."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from alert_activations import DELAY_MS, Alerting
from test_api import client_of

from modelmon.backends import make_backend
from modelmon.core.config import Settings
from modelmon.core.paths import ProjectPaths
from modelmon.core.results import ModelMonitoringApplicationResult as Result
from modelmon.core.results import ResultKindApp as Kind
from modelmon.core.results import ResultStatusApp as Status
from modelmon.endpoints.registration import register_model_endpoint
from modelmon.events import WriterEvent
from modelmon.writer import ResultWriter

PROJECT = "watch"
PATHS = ProjectPaths(PROJECT)
PERIOD = 600_000
T0 = 1_764_516_000_000  # 2025-11-30T15:20Z
WINDOWS = 5
#: general_drift per window: churn drifts in windows 1-2, is back in 3 and drifts again in 4; fraud in 1 only.
DRIFT = {"churn": [0.1, 0.8, 0.9, 0.2, 0.85], "fraud": [0.1, 0.75, 0.2, 0.1, 0.1]}
#: churn's p99 latency (µs) per window: suspected (potential) in window 2.
LATENCY = [300_000.0, 320_000.0, 900_000.0, 310_000.0, 305_000.0]
RESET_AT = T0 + WINDOWS * PERIOD + 5 * 60_000
NOW = RESET_AT + 60_000
HOOK_ENV = "MODELMON_UI_TEST_UNSET_HOOK"
CONFIGS = [
    {"name": "drift", "severity": "high", "trigger": {"events": ["data_drift_detected"]},
     "notifications": [{"kind": "log"}]},
    {"name": "latency", "severity": "low", "trigger": {"events": ["system_performance_suspected"]},
     "reset_policy": "manual", "notifications": [{"kind": "webhook", "url_env": HOOK_ENV}]},
]


def end(window: int) -> int:
    return T0 + (window + 1) * PERIOD


def drift_status(value: float) -> Status:
    return Status.detected if value >= 0.7 else Status.no_detection


def build_home(home) -> dict[str, str]:
    """Endpoints ``churn`` and ``fraud`` in ``home``: 5 windows of results written by the writer and evaluated
    against the ``drift`` (auto reset, log) and ``latency`` (manual reset, a webhook whose URL variable is
    unset) configs; due notifications delivered, then ``latency`` reset by hand. Returns the endpoint ids."""
    backend = make_backend(Settings(home=str(home), project=PROJECT))
    try:
        reference = pd.DataFrame({"age": np.random.default_rng(1).normal(40, 10, 200)})
        ids = {name: register_model_endpoint(backend, PROJECT, name, reference_data=reference).endpoint_id
               for name in DRIFT}
        events = []
        for k in range(WINDOWS):
            start = T0 + k * PERIOD
            for name, values in DRIFT.items():
                result = Result("general_drift", values[k], Kind.data_drift, drift_status(values[k]))
                events.append(WriterEvent(PROJECT, ids[name], "drift", start, start + PERIOD, (result,),
                                          endpoint_name=name))
            status = Status.potential_detection if LATENCY[k] > 800_000 else Status.no_detection
            events.append(WriterEvent(PROJECT, ids["churn"], "perf", start, start + PERIOD,
                                      (Result("latency_p99_us", LATENCY[k], Kind.system_performance, status),),
                                      endpoint_name="churn"))
        writer = ResultWriter(backend, PATHS, clock=lambda: NOW)
        alerting = Alerting(backend, PATHS, CONFIGS)
        for event in events:
            writer.write(event)
            alerting.evaluate([event])
        alerting.deliver()
        alerting.now = RESET_AT
        assert alerting.evaluator.reset("latency") == 1
    finally:
        backend.close()
    return ids


@pytest.fixture(scope="module")
def watch(tmp_path_factory):
    home = tmp_path_factory.mktemp("alerts") / "home"
    ids = build_home(home)
    client, reader = client_of(home, PROJECT, now=NOW)
    yield {"ids": ids, "client": client, "backend": reader}
    client.close()
    reader.close()


def test_activations_with_state_counts_and_configs(watch):
    body = watch["client"].get("/api/alerts").json()
    ids = watch["ids"]
    assert (body["project"], body["total"], body["active"]) == (PROJECT, 3, 1)
    assert [(c["name"], c["severity"], c["reset_policy"], c["notifications"]) for c in body["configs"]] == [
        ("drift", "high", "auto", ["log"]), ("latency", "low", "manual", ["webhook"])]
    churn, fraud, latency = body["alerts"]  # the active one first, then by severity, then last changed first
    assert (churn["config"], churn["endpoint_id"], churn["endpoint_name"], churn["app"], churn["result"]) == (
        "drift", ids["churn"], "churn", "drift", "general_drift")
    assert (churn["state"], churn["severity"], churn["value"], churn["status"], churn["activations"]) == (
        "active", "high", 0.85, "detected", 2)
    assert (churn["window_start_ms"], churn["window_end_ms"], churn["changed_ms"]) == (
        end(3), end(4), end(4) + DELAY_MS)
    assert churn["window_end"] == "2025-11-30T16:10:00+00:00" and churn["changed"] == "2025-11-30T16:11:00+00:00"
    assert churn["summary"] == ("[high] drift: churn drift/general_drift is detected (value 0.85) in "
                                "2025-11-30 16:00–16:10 UTC")
    assert churn["key"] == f"drift.{ids['churn']}.drift.general_drift"
    assert (fraud["config"], fraud["endpoint_name"], fraud["state"], fraud["activations"]) == (
        "drift", "fraud", "resolved", 1)
    assert (fraud["window_end_ms"], fraud["status"], fraud["changed_ms"]) == (end(2), "no_detection",
                                                                             end(2) + DELAY_MS)
    assert (latency["config"], latency["app"], latency["result"], latency["state"], latency["severity"]) == (
        "latency", "perf", "latency_p99_us", "resolved", "low")
    assert latency["changed_ms"] == RESET_AT and latency["value"] == 900_000.0  # the value it fired on


def test_each_activation_has_its_transitions_and_their_deliveries(watch):
    alerts = {a["endpoint_name"] + "/" + a["config"]: a for a in watch["client"].get("/api/alerts").json()["alerts"]}
    churn = alerts["churn/drift"]["history"]
    assert [(h["transition"], h["state"], h["window_end_ms"], h["time_ms"], h["value"], h["status"]) for h in churn] \
        == [("fired", "active", end(1), end(1) + DELAY_MS, 0.8, "detected"),
            ("resolved", "resolved", end(3), end(3) + DELAY_MS, 0.2, "no_detection"),
            ("fired", "active", end(4), end(4) + DELAY_MS, 0.85, "detected")]
    assert churn[0]["time"] == "2025-11-30T15:41:00+00:00" and churn[0]["window_end"] == "2025-11-30T15:40:00+00:00"
    for h in churn:  # the log channel took every notification, at the first attempt
        [delivery] = h["deliveries"]
        assert (delivery["channel"], delivery["state"], delivery["attempts"], delivery["error"]) == (
            "log", "delivered", 1, None)
        assert delivery["key"] == (f"drift.{watch['ids']['churn']}.drift.general_drift.{h['window_end_ms']}."
                                   f"{h['state']}")
    latency = alerts["churn/latency"]["history"]
    assert [(h["transition"], h["state"], h["time_ms"]) for h in latency] == [
        ("fired", "active", end(2) + DELAY_MS), ("reset", "resolved", RESET_AT)]
    assert latency[1]["window_end_ms"] is None and latency[1]["deliveries"] == []  # a reset notifies nobody
    [failed] = latency[0]["deliveries"]  # the webhook's URL variable is not set: failed after its one attempt
    assert (failed["channel"], failed["state"], failed["attempts"]) == ("webhook", "failed", 1)
    assert failed["error"] == f"webhook channel: environment variable {HOOK_ENV!r} is not set"
    assert failed["done_ms"] == end(4) + DELAY_MS  # when the outbox was delivered, after the last window


def test_history_lists_every_transition_newest_first(watch):
    body = watch["client"].get("/api/alerts").json()
    history = body["history"]
    assert body["history_total"] == len(history) == 7  # churn: 3, fraud: 2, latency: 2
    assert [h["time_ms"] for h in history] == sorted((h["time_ms"] for h in history), reverse=True)
    assert [(h["endpoint_name"], h["config"], h["transition"]) for h in history[:3]] == [
        ("churn", "latency", "reset"), ("churn", "drift", "fired"), ("churn", "drift", "resolved")]
    at_window_2 = {(h["endpoint_name"], h["config"], h["transition"]) for h in history
                   if h["time_ms"] == end(2) + DELAY_MS}
    assert at_window_2 == {("fraud", "drift", "resolved"), ("churn", "latency", "fired")}
    assert all(h["severity"] == ("high" if h["config"] == "drift" else "low") for h in history)
    recent = watch["client"].get(f"/api/alerts?since={end(3) + DELAY_MS}").json()
    assert [h["transition"] for h in recent["history"]] == ["reset", "fired", "resolved"]
    assert recent["total"] == 3  # since narrows the history and the detections, not the activations


def test_deliveries_are_counted_and_failures_listed(watch):
    deliveries = watch["client"].get("/api/alerts").json()["deliveries"]
    assert (deliveries["pending"], deliveries["delivered"], deliveries["failed"]) == (0, 5, 1)
    [failed] = deliveries["failed_items"]
    assert failed["channel"] == "webhook" and HOOK_ENV in failed["error"]
    assert failed["alert"] == {"key": f"latency.{watch['ids']['churn']}.perf.latency_p99_us", "config": "latency",
                               "endpoint_id": watch["ids"]["churn"], "endpoint_name": "churn", "app": "perf",
                               "result": "latency_p99_us", "transition": "fired", "window_end_ms": end(2)}
    assert "url_env" not in json.dumps(deliveries)  # channel specs are not shown


def test_filters_by_state_and_endpoint(watch):
    client, ids = watch["client"], watch["ids"]
    active = client.get("/api/alerts?state=active").json()
    assert [(a["endpoint_name"], a["config"]) for a in active["alerts"]] == [("churn", "drift")]
    assert (active["total"], active["active"], len(active["history"])) == (1, 1, 3)
    resolved = client.get("/api/alerts?state=resolved").json()
    assert [(a["endpoint_name"], a["config"]) for a in resolved["alerts"]] == [("fraud", "drift"),
                                                                                ("churn", "latency")]
    assert resolved["active"] == 0
    for ref in ("fraud", ids["fraud"], ids["fraud"][:8]):  # a name, an id or a unique id prefix
        fraud = client.get(f"/api/alerts?endpoint={ref}").json()
        assert [a["endpoint_id"] for a in fraud["alerts"]] == [ids["fraud"]]
        assert {h["endpoint_name"] for h in fraud["history"]} == {"fraud"}
        assert [(d["endpoint_name"], d["end_ms"]) for d in fraud["detections"]["items"]] == [("fraud", end(1))]
    gone = client.get("/api/alerts?endpoint=deleted-endpoint-id").json()
    assert gone["alerts"] == [] and gone["detections"]["items"] == []
    bad = client.get("/api/alerts?state=firing")
    assert bad.status_code == 400 and bad.json()["parameter"] == "state"


def test_detections_are_the_writers_detected_results(watch):
    detections = watch["client"].get("/api/alerts").json()["detections"]
    assert [(d["endpoint_name"], d["end_ms"], d["value"], d["current"]) for d in detections["items"]] == [
        ("churn", end(4), 0.85, True), ("churn", end(2), 0.9, False), ("churn", end(1), 0.8, False),
        ("fraud", end(1), 0.75, False)]
    assert (detections["total"], detections["current"]) == (4, 1)
    stored = dict(watch["backend"].kv.scan(PATHS.alerts_table)[0])
    assert {d["key"] for d in detections["items"]} == set(stored)


def test_the_endpoint_api_gives_its_activations_and_detections(watch):
    body = watch["client"].get("/api/endpoints/churn").json()
    assert [(a["config"], a["state"]) for a in body["alerts"]] == [("drift", "active"), ("latency", "resolved")]
    assert [len(a["history"]) for a in body["alerts"]] == [3, 2]
    assert [d["end_ms"] for d in body["detections"]] == [end(4), end(2), end(1)]
    narrow = watch["client"].get(f"/api/endpoints/churn?since={end(3)}").json()
    assert len(narrow["alerts"]) == 2 and [d["end_ms"] for d in narrow["detections"]] == [end(4)]
    fraud = watch["client"].get("/api/endpoints/fraud").json()
    assert [(a["config"], a["state"], a["activations"]) for a in fraud["alerts"]] == [("drift", "resolved", 1)]
