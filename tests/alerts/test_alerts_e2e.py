"""End to end: writer events on the writer stream -> the alerts function (its own process under the local
Nuclio runtime, its own consumer group) -> exactly the expected notifications at a webhook on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from pathlib import Path

import pytest
from receivers import HttpReceiver

from modelmon.alerts.configs import AlertConfig, AlertConfigStore
from modelmon.alerts.delivery import Deliveries
from modelmon.backends.base import OutRecord
from modelmon.core.config import Settings
from modelmon.core.paths import ProjectPaths
from modelmon.core.results import ModelMonitoringApplicationResult, ResultKindApp, ResultStatusApp
from modelmon.deploy.render import render_bundle, write_configs
from modelmon.events import WriterEvent
from modelmon.local_nuclio import LocalRuntime

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
PROJECT = "e2e"
PERIOD = 10 * 60_000
T0 = 1_700_000_000_000 // PERIOD * PERIOD
NO, POTENTIAL, DETECTED = ResultStatusApp.no_detection, ResultStatusApp.potential_detection, ResultStatusApp.detected
STATUSES = [DETECTED, DETECTED, NO, POTENTIAL, DETECTED]  # windows 1..5 of ep1/drift/tvd
HOOK = {"kind": "webhook", "url_env": "E2E_HOOK_URL", "secret_env": "E2E_HOOK_KEY"}


def wait_for(check, what: str, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def end(k: int) -> int:
    return T0 + k * PERIOD


def test_writer_stream_to_webhook_through_the_alerts_function(tmp_path):
    home = tmp_path / "home"
    settings = Settings(home=str(home), project=PROJECT, backend="local")
    write_configs(render_bundle(REPO, settings, functions=["alerts"]), tmp_path / "bundle")
    receiver = HttpReceiver().start()
    env = {**os.environ, "E2E_HOOK_URL": receiver.url, "E2E_HOOK_KEY": "e2e-secret",
           "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    env.pop("MODELMON_ALERT_WEBHOOK_URL", None)
    from modelmon.backends import make_backend

    backend, paths = make_backend(settings), ProjectPaths(PROJECT)
    try:
        store = AlertConfigStore(backend.kv, paths)
        store.store(AlertConfig(name="drift-auto", events=("data_drift_detected",), severity="high",
                                notifications=(HOOK,)))
        store.store(AlertConfig(name="drift-twice", events=("data_drift_detected", "data_drift_suspected"),
                                count=2, period_s=3600, reset_policy="manual", notifications=(HOOK,)))
        events = [WriterEvent(PROJECT, "ep1", "drift", end(k - 1), end(k),
                              (ModelMonitoringApplicationResult("tvd", 0.1 * k, ResultKindApp.data_drift, s),),
                              endpoint_name="churn") for k, s in enumerate(STATUSES, start=1)]
        backend.streams.create(paths.writer_stream, shards=1)
        backend.streams.put_records(paths.writer_stream, [OutRecord(e.to_body(), partition_key="ep1") for e in events])
        outbox = Deliveries(backend.kv, paths, clock=lambda: 0)
        with LocalRuntime(tmp_path / "bundle", settings, env=env, log_file=home / "functions.log"):
            wait_for(lambda: len(receiver.requests) >= 4, "4 notifications")
            wait_for(lambda: not outbox.list(state="pending"), "an empty outbox")
    finally:
        receiver.stop()
        backend.close()
    got = sorted((r["config"], r["state"], (r["window_end_ms"] - T0) // PERIOD) for r in receiver.unique().values())
    assert got == [("drift-auto", "active", 1), ("drift-auto", "active", 5), ("drift-auto", "resolved", 3),
                   ("drift-twice", "active", 2)]
    assert len(receiver.requests) == 4  # nothing twice
    for request in receiver.requests:
        signature = hmac.new(b"e2e-secret", request["body"], hashlib.sha256).hexdigest()
        assert request["headers"]["X-Modelmon-Signature"] == f"sha256={signature}"
    summaries = {r["state"]: r["summary"] for r in receiver.unique().values() if r["config"] == "drift-auto"}
    assert "churn" in summaries["resolved"] and "tvd" in summaries["resolved"]
