"""The alerts function's handler on Nuclio's test platform, over the local backend: writer events in,
activations and deliveries out; the cron tick finds endpoints without traffic."""

from __future__ import annotations

import nuclio_sdk
import nuclio_sdk.test
import pytest

from functions.alerts import handler as alerts_function
from modelmon.alerts.configs import AlertConfig, AlertConfigStore
from modelmon.alerts.delivery import Deliveries
from modelmon.alerts.evaluator import Evaluator
from modelmon.backends import make_backend
from modelmon.core.paths import ProjectPaths
from modelmon.core.results import ModelMonitoringApplicationResult as Result
from modelmon.core.timeutil import now_ms
from modelmon.endpoints.record import ModelEndpoint
from modelmon.endpoints.store import EndpointStore
from modelmon.events.writer import WriterEvent

PATHS = ProjectPaths("test")
END = 1_764_000_600_000


@pytest.fixture
def function(settings, monkeypatch):
    monkeypatch.setenv("MODELMON_PROJECT", "test")
    monkeypatch.delenv("MODELMON_ALERT_WEBHOOK_URL", raising=False)
    backend = make_backend(settings)
    yield backend, nuclio_sdk.test.Platform()
    backend.close()


def body(status: int, end: int = END) -> bytes:
    return WriterEvent("test", "ep1", "hist", end - 600_000, end, results=(Result("general_drift", 0.8, 0, status),),
                       endpoint_name="fraud").to_body()


def test_writer_events_activate_and_deliver_once(function):
    backend, platform = function
    AlertConfigStore(backend.kv, PATHS).store(AlertConfig.from_dict(
        {"name": "drift", "trigger": {"events": ["data_drift_detected"]}, "notifications": [{"kind": "log"}]}))
    call = platform.call_handler
    assert call(alerts_function.handler, nuclio_sdk.Event(body=body(2), shard_id=0, offset=1)) == {
        "events": 1, "notifications": 1, "skipped": 0, "delivered": 1}
    # the same record again (a redelivery), an unreadable one (the writer dead-letters it), then the reset
    assert call(alerts_function.handler, nuclio_sdk.Event(body=body(2), shard_id=0, offset=1)) == {
        "events": 1, "notifications": 0, "skipped": 0}
    assert call(alerts_function.handler, nuclio_sdk.Event(body=b"{", shard_id=0, offset=2))["skipped"] == 1
    assert call(alerts_function.handler, nuclio_sdk.Event(body=body(0, END + 600_000), shard_id=0, offset=3)) == {
        "events": 1, "notifications": 1, "skipped": 0, "delivered": 1}
    deliveries = Deliveries(backend.kv, PATHS, clock=now_ms).list()
    assert [(d["key"], d["state"]) for d in deliveries] == [
        (f"drift.ep1.hist.general_drift.{END}.active", "delivered"),
        (f"drift.ep1.hist.general_drift.{END + 600_000}.resolved", "delivered")]
    [item] = Evaluator(backend.kv, PATHS).activations()
    assert item["state"] == "resolved" and item["activations"] == 1


def test_quick_start_variable_alerts_every_detected_result_to_the_webhook(function, monkeypatch):
    backend, platform = function
    monkeypatch.setenv("MODELMON_ALERT_WEBHOOK_URL", "http://127.0.0.1:9/hook")  # nothing listens on port 9
    totals = platform.call_handler(alerts_function.handler, nuclio_sdk.Event(body=body(1), shard_id=0, offset=1))
    assert totals["notifications"] == 1 and totals["delivered"] == 0
    [pending] = Deliveries(backend.kv, PATHS, clock=now_ms).list()
    assert (pending["key"], pending["kind"], pending["state"]) == (
        f"quick-start.ep1.hist.general_drift.{END}.active", "webhook", "pending")
    assert "127.0.0.1" not in pending["channel"]  # the spec names the variable, never the URL


def test_cron_tick_finds_endpoints_without_traffic(function):
    backend, platform = function
    AlertConfigStore(backend.kv, PATHS).store(AlertConfig.from_dict(
        {"name": "silent", "trigger": {"events": ["no_traffic"]}, "no_traffic_windows": 3,
         "notifications": [{"kind": "log"}]}))
    endpoints = EndpointStore(backend.kv, PATHS)
    now = now_ms()
    endpoints.create(ModelEndpoint("quiet", name="quiet-model", last_request_ms=now - 3 * 3_600_000))
    endpoints.create(ModelEndpoint("busy", name="busy-model", last_request_ms=now))
    tick = nuclio_sdk.Event(trigger=nuclio_sdk.TriggerInfo("cron", "tick"))
    assert platform.call_handler(alerts_function.handler, tick) == {
        "notifications": 1, "delivered": 1, "retrying": 0, "failed": 0}
    [item] = Evaluator(backend.kv, PATHS).activations(active_only=True)
    assert (item["endpoint_id"], item["result"], item["state"]) == ("quiet", "no_traffic", "active")
