"""End to end: writer events on the writer stream -> the alerts function (its own process under the local
Nuclio runtime, its own consumer group) -> exactly the expected notifications at a webhook on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import os
import signal
import time
from pathlib import Path

import pytest
from receivers import HttpReceiver

from modelmon.alerts.configs import AlertConfig, AlertConfigStore
from modelmon.alerts.delivery import Deliveries
from modelmon.alerts.notification import notification_key
from modelmon.backends import make_backend
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
PROJECT_PATHS = ProjectPaths(PROJECT)
HOOK = {"kind": "webhook", "url_env": "E2E_HOOK_URL", "secret_env": "E2E_HOOK_KEY"}


def wait_for(check, what, timeout_s: float = 90.0) -> None:
    """Wait until ``check()``; ``what`` (text, or a function giving it at the timeout) names it."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what() if callable(what) else what}")
        time.sleep(0.1)


def end(k: int) -> int:
    return T0 + k * PERIOD


def event(k: int, status: ResultStatusApp, endpoint: str = "ep1") -> WriterEvent:
    return WriterEvent(PROJECT, endpoint, "drift", end(k - 1), end(k),
                       (ModelMonitoringApplicationResult("tvd", 0.1 * k, ResultKindApp.data_drift, status),),
                       endpoint_name="churn")


def put(backend, events) -> None:
    backend.streams.create(PROJECT_PATHS.writer_stream, shards=1)
    backend.streams.put_records(PROJECT_PATHS.writer_stream,
                                [OutRecord(e.to_body(), partition_key=e.endpoint_id) for e in events])


def start(tmp_path, receiver: HttpReceiver, **runtime_kw):
    """The alerts function under the local runtime, and the backend; drift-auto alerts on every detection."""
    home = tmp_path / "home"
    settings = Settings(home=str(home), project=PROJECT, backend="local")
    write_configs(render_bundle(REPO, settings, functions=["alerts"]), tmp_path / "bundle")
    env = {**os.environ, "E2E_HOOK_URL": receiver.url, "E2E_HOOK_KEY": "e2e-secret",
           "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    env.pop("MODELMON_ALERT_WEBHOOK_URL", None)
    backend = make_backend(settings)
    AlertConfigStore(backend.kv, PROJECT_PATHS).store(AlertConfig(
        name="drift-auto", events=("data_drift_detected",), severity="high", notifications=(HOOK,)))
    runtime = LocalRuntime(tmp_path / "bundle", settings, env=env, log_file=home / "functions.log", **runtime_kw)
    return backend, runtime


def expected_keys(windows: dict[int, str]) -> set[str]:
    return {notification_key("drift-auto", "ep1", "drift", "tvd", end(k), state) for k, state in windows.items()}


def test_a_receiver_down_for_a_while_gets_everything_once_back(tmp_path):
    receiver = HttpReceiver()  # down: connections refused
    backend, runtime = start(tmp_path, receiver)
    outbox = Deliveries(backend.kv, PROJECT_PATHS, clock=lambda: 0)
    try:
        put(backend, [event(1, DETECTED), event(2, NO), event(3, DETECTED)])
        with runtime:
            wait_for(lambda: len(outbox.list(state="pending")) == 3
                     and all(p.get("last_error") for p in outbox.list(state="pending")), "3 failed attempts")
            assert all("webhook to 127.0.0.1" in p["last_error"] for p in outbox.list(state="pending"))
            receiver.start()
            due = max(p["next_ms"] for p in outbox.list(state="pending"))
            time.sleep(max(0.0, due / 1000 - time.time()) + 0.2)  # the backoff is over
            put(backend, [event(4, NO)])  # the next writer event also sends what is due
            wait_for(lambda: not outbox.list(state="pending"), "an empty outbox")
    finally:
        receiver.stop()
        backend.close()
    assert sorted(receiver.keys()) == sorted(expected_keys({1: "active", 2: "resolved", 3: "active", 4: "resolved"}))


def test_kill_9_of_the_alerts_function_mid_delivery_loses_nothing(tmp_path):
    receiver = HttpReceiver(delay_s=1.0).start()
    backend, runtime = start(tmp_path, receiver, restart_backoff_s=0.2)
    outbox = Deliveries(backend.kv, PROJECT_PATHS, clock=lambda: 0)
    windows = {k: "active" if k % 2 else "resolved" for k in range(1, 25)}
    try:
        put(backend, [event(k, DETECTED if k % 2 else NO) for k in windows])
        with runtime:
            wait_for(lambda: len(receiver.requests) >= 1, "a first delivery")
            [status] = runtime.status().values()
            os.kill(status.pid, signal.SIGKILL)
            wait_for(lambda: next(iter(runtime.status().values())).restarts == 1, "the restart")
            left = outbox.list(state="pending")
            assert left, "killed after everything was delivered: nothing was tested"
            lease_over = max(p["next_ms"] for p in left)
            time.sleep(max(0.0, lease_over / 1000 - time.time()) + 0.2)  # the killed claims' leases are over
            put(backend, [event(1, NO, endpoint="ep2")])  # a writer event: the function sends what is due
            log = tmp_path / "home" / "functions.log"
            wait_for(lambda: not outbox.list(state="pending"), lambda: "an empty outbox; pending: "
                     f"{outbox.list(state='pending')}; log: {log.read_text()[-2000:]}", timeout_s=120)
    finally:
        receiver.stop()
        backend.close()
    keys = receiver.keys()
    log = (tmp_path / "home" / "functions.log").read_text()[-3000:]
    assert set(keys) == expected_keys(windows), log  # every notification arrived: nothing lost
    assert len(keys) - len(windows) <= 8, (len(keys), log)  # a repeat only for a send in flight when killed
    assert len(receiver.unique()) == len(windows)  # once, behind a receiver deduping by Idempotency-Key


def test_writer_stream_to_webhook_through_the_alerts_function(tmp_path):
    home = tmp_path / "home"
    settings = Settings(home=str(home), project=PROJECT, backend="local")
    write_configs(render_bundle(REPO, settings, functions=["alerts"]), tmp_path / "bundle")
    receiver = HttpReceiver().start()
    env = {**os.environ, "E2E_HOOK_URL": receiver.url, "E2E_HOOK_KEY": "e2e-secret",
           "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    env.pop("MODELMON_ALERT_WEBHOOK_URL", None)
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
