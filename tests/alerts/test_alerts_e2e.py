"""End to end: writer events on the writer stream -> the alerts function (its own process under the local
Nuclio runtime, its own consumer group) -> exactly the expected notifications at a webhook on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import os
import signal
import time
from collections import Counter
from collections.abc import Callable
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


def settled(outbox: Deliveries, delivered: int) -> Callable[[], bool]:
    """The outbox's end state: at least ``delivered`` items delivered and none pending. No pending item alone
    is no end: between two writer events (one notification delivered, the next event not yet evaluated) the
    outbox is empty for a few milliseconds, and a test that stops the function then loses the rest."""
    def check() -> bool:
        states = [item["state"] for item in outbox.list()]
        return states.count("delivered") >= delivered and "pending" not in states
    return check


def outbox_text(outbox: Deliveries, log: Path | None = None) -> str:
    """What a timed-out wait shows: the outbox's states, its pending items and the function log's end."""
    items = outbox.list()
    pending = [i for i in items if i["state"] == "pending"]
    text = f"outbox {dict(Counter(i['state'] for i in items))}; pending: {pending}"
    return text + (f"; log: {log.read_text()[-2000:]}" if log is not None and log.exists() else "")


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


def expected_keys(windows: dict[int, str], endpoint: str = "ep1") -> set[str]:
    return {notification_key("drift-auto", endpoint, "drift", "tvd", end(k), state) for k, state in windows.items()}


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
            wait_for(settled(outbox, 4), lambda: f"4 delivered: {outbox_text(outbox)}")
    finally:
        receiver.stop()
        backend.close()
    assert sorted(receiver.keys()) == sorted(expected_keys({1: "active", 2: "resolved", 3: "active", 4: "resolved"}))


def test_kill_9_of_the_alerts_function_mid_delivery_loses_nothing(tmp_path):
    in_flight: list[str] = []  # the key of the send the function was killed in

    def kill_on_first_request(request) -> None:
        """kill -9 the function while its first send waits for the answer: claimed, sent, never marked."""
        if not in_flight:
            in_flight.append(request["headers"].get("Idempotency-Key", ""))
            [status] = runtime.status().values()
            os.kill(status.pid, signal.SIGKILL)

    receiver = HttpReceiver(on_request=kill_on_first_request).start()
    backend, runtime = start(tmp_path, receiver, restart_backoff_s=0.2)
    outbox = Deliveries(backend.kv, PROJECT_PATHS, clock=lambda: 0)
    windows = {k: "active" if k % 2 else "resolved" for k in range(1, 25)}
    expected = expected_keys(windows) | expected_keys({1: "active"}, endpoint="ep2")
    log = tmp_path / "home" / "functions.log"
    try:
        put(backend, [event(k, DETECTED if k % 2 else NO) for k in windows])
        with runtime:
            wait_for(lambda: next(iter(runtime.status().values())).restarts == 1, "the restart after kill -9")
            item = {i["key"]: i for i in outbox.list()}[in_flight[0]]
            assert (item["state"], item["attempts"], item.get("last_error")) == ("pending", 1, None), item
            time.sleep(max(0.0, item["next_ms"] / 1000 - time.time()) + 0.2)  # the killed claim's lease is over
            # a writer event that notifies (a stream call sends due items only then; a no_detection of ep2 would
            # not): the function sends it and the killed claim, whatever else it still had to evaluate
            put(backend, [event(1, DETECTED, endpoint="ep2")])
            wait_for(settled(outbox, len(expected)), lambda: f"{len(expected)} delivered: {outbox_text(outbox, log)}",
                     timeout_s=120)
    finally:
        receiver.stop()
        backend.close()
    keys = receiver.keys()
    tail = log.read_text()[-3000:]
    assert set(keys) == expected, tail  # every notification arrived: nothing lost
    # one repeat: the send in flight when killed, sent again once its lease was over
    assert Counter(keys) == {**dict.fromkeys(expected, 1), in_flight[0]: 2}, tail
    assert len(receiver.unique()) == len(expected)  # once, behind a receiver deduping by Idempotency-Key


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
            wait_for(settled(outbox, 4), lambda: f"4 delivered: {outbox_text(outbox)}")
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
