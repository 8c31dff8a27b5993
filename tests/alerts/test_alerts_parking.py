"""The alerts function parks on a stream of its own, never on the writer stream (which the writer reads too),
and reads that stream with a second trigger: on Nuclio's test platform, in-process under the local runtime
with its real triggers, and in the rendered function config. The store is out past the retry deadline (1 s);
the notification reaches a webhook on 127.0.0.1 once, from the parked copy."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import nuclio_sdk
import nuclio_sdk.test
import pytest
from receivers import HttpReceiver

from functions.alerts import handler as alerts_function
from modelmon.alerts.configs import AlertConfig, AlertConfigStore
from modelmon.alerts.delivery import Deliveries
from modelmon.backends import make_backend
from modelmon.backends.base import OutRecord, Record
from modelmon.core.config import Settings
from modelmon.core.errors import BackendUnavailable
from modelmon.core.paths import ProjectPaths
from modelmon.core.results import ModelMonitoringApplicationResult as Result
from modelmon.core.timeutil import now_ms
from modelmon.deploy.render import kafka_topic, render_bundle
from modelmon.events.writer import WriterEvent
from modelmon.functions.handling import Delivery, each_record, parked_body
from modelmon.local_nuclio.handler import load_handler
from modelmon.local_nuclio.host import FunctionHost
from modelmon.local_nuclio.spec import load_bundle
from modelmon.local_nuclio.worker import make_logger
from modelmon.testing import stream_records

REPO = Path(__file__).resolve().parents[2]
PATHS = ProjectPaths("test")
WRITER, PARKED = PATHS.writer_stream, PATHS.alerts_parked_stream
END = 1_764_000_600_000
KEY = f"drift.ep1.hist.general_drift.{END}.active"
TICK = nuclio_sdk.Event(trigger=nuclio_sdk.TriggerInfo("cron", "tick"))


class KvOut:
    """The KV store, out while ``out`` is set: every call raises BackendUnavailable (the web API restarting)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.out = False
        self.failed = 0
        self._lock = threading.Lock()

    def __getattr__(self, name):
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            if self.out:
                with self._lock:
                    self.failed += 1
                raise BackendUnavailable("V3IO KV: connection refused (test outage)")
            return attr(*args, **kwargs)

        return call


@pytest.fixture
def alerts(settings, monkeypatch):
    """The alerts function's backend with a KV that can be out, a drift config sending to a real webhook."""
    monkeypatch.setenv("MODELMON_PROJECT", "test")
    monkeypatch.setenv("MODELMON_RETRY_DEADLINE_SECONDS", "1")
    monkeypatch.delenv("MODELMON_ALERT_WEBHOOK_URL", raising=False)
    receiver = HttpReceiver().start()
    monkeypatch.setenv("PARKING_HOOK_URL", receiver.url)
    kvs: list[KvOut] = []
    opened = []

    def with_kv_out(settings):
        real = make_backend(settings)
        opened.append(real)
        kvs.append(KvOut(real.kv))
        return dataclasses.replace(real, kv=kvs[0])  # every worker's context shares one switch

    monkeypatch.setattr(alerts_function, "make_backend", with_kv_out)
    backend = make_backend(settings)
    AlertConfigStore(backend.kv, PATHS).store(AlertConfig.from_dict(
        {"name": "drift", "trigger": {"events": ["data_drift_detected"]},
         "notifications": [{"kind": "webhook", "url_env": "PARKING_HOOK_URL"}]}))
    backend.streams.create(WRITER)

    class Switch:
        @property
        def kv(self) -> KvOut:
            return kvs[0]

    yield backend, Switch(), receiver
    receiver.stop()
    for one in opened:
        one.close()
    backend.close()


def writer_body(status: int = 2) -> bytes:
    return WriterEvent("test", "ep1", "hist", END - 600_000, END, results=(Result("general_drift", 0.8, 0, status),),
                       endpoint_name="fraud").to_body()


def as_event(record: Record) -> nuclio_sdk.Event:
    """``record`` as a stream trigger hands it to the handler."""
    return nuclio_sdk.Event(body=record.data, shard_id=record.shard, offset=record.sequence)


def wait_for(check, what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# ----------------------------------------------------------------------------- the handler alone

def test_past_the_deadline_the_event_is_parked_on_the_alerts_stream_and_delivered_once_from_there(alerts):
    backend, switch, receiver = alerts
    platform = nuclio_sdk.test.Platform()
    call = platform.call_handler
    assert call(alerts_function.handler, TICK)["notifications"] == 0  # the function is up (init_context ran)
    backend.streams.put_records(WRITER, [OutRecord(writer_body())])
    (original,) = stream_records(backend.streams, WRITER)

    switch.kv.out = True
    assert call(alerts_function.handler, as_event(original)) == {
        "events": 0, "notifications": 0, "skipped": 0, "parked": 1}
    assert switch.kv.failed >= 2  # retried until the deadline
    assert stream_records(backend.streams, WRITER) == [original]  # nothing new for the writer to write again
    (parked,) = stream_records(backend.streams, PARKED)
    (copy,) = each_record(as_event(parked))
    assert (copy.body, copy.origin, copy.parked, copy.parked_by) == (
        original.data, (original.shard, original.sequence), 1, "alerts")
    assert not receiver.requests and not Deliveries(backend.kv, PATHS, clock=now_ms).list()

    switch.kv.out = False
    assert call(alerts_function.handler, as_event(parked)) == {
        "events": 1, "notifications": 1, "skipped": 0, "delivered": 1}
    assert receiver.keys() == [KEY]
    assert [(d["key"], d["state"]) for d in Deliveries(backend.kv, PATHS, clock=now_ms).list()] == [
        (KEY, "delivered")]
    # the parked copy read again (the function restarted before committing it): nothing sent twice
    assert call(alerts_function.handler, as_event(parked))["notifications"] == 0
    assert receiver.keys() == [KEY]


def test_a_copy_the_writer_parked_on_the_writer_stream_is_not_evaluated_again(alerts):
    _, _, receiver = alerts
    platform = nuclio_sdk.test.Platform()
    writers = parked_body(Delivery(writer_body(), (0, 1)), "model-monitoring-writer", "TSDB down", 0)
    assert platform.call_handler(alerts_function.handler, nuclio_sdk.Event(body=writers, shard_id=0, offset=2)) == {
        "events": 0, "notifications": 0, "skipped": 1}
    assert not receiver.requests
    # a copy the alerts function itself parked there (before it had a stream of its own) is its own to handle
    own = parked_body(Delivery(writer_body(), (0, 1)), "alerts", "KV down", 0)
    assert platform.call_handler(alerts_function.handler, nuclio_sdk.Event(body=own, shard_id=0, offset=3)) == {
        "events": 1, "notifications": 1, "skipped": 0, "delivered": 1}
    assert receiver.keys() == [KEY]


# ------------------------------------------------------------- under the local runtime, both triggers

def test_the_local_runtime_reads_the_writer_stream_and_the_park_stream(alerts):
    backend, switch, receiver = alerts
    (spec,) = load_bundle(REPO, ["alerts"])
    host = FunctionHost(spec, load_handler(spec), project="test", logger=make_logger("alerts"),
                        streams=backend.streams)
    host.start()
    try:
        switch.kv.out = True
        backend.streams.put_records(WRITER, [OutRecord(writer_body())])
        wait_for(lambda: backend.streams.committed(WRITER, "alerts", 0) == 2, "the writer event parked and committed")
        switch.kv.out = False
        wait_for(lambda: receiver.requests, "the notification from the parked copy")

        def all_parked_copies_committed() -> bool:
            last = stream_records(backend.streams, PARKED)[-1].sequence
            return backend.streams.committed(PARKED, "alerts", 0) == last + 1

        wait_for(all_parked_copies_committed, "every parked copy handled")
        info = {t["name"]: t for t in host.info()}
    finally:
        host.stop()
    (original,) = stream_records(backend.streams, WRITER)  # the writer stream holds only the writer event
    copies = list(each_record([as_event(r) for r in stream_records(backend.streams, PARKED)]))
    # one copy, or more if the park trigger took it while the KV was still out and parked it again
    assert copies and all(c.origin == (0, original.sequence) and c.parked_by == "alerts" for c in copies)
    assert receiver.keys() == [KEY]  # delivered once
    assert (info["results"]["paths"], info["results"]["group"], info["results"]["delivered"]) == ([WRITER], "alerts", 1)
    assert (info["parked"]["paths"], info["parked"]["group"], info["parked"]["delivered"]) == (
        [PARKED], "alerts", len(copies))
    assert info["results"]["failed"] == info["parked"]["failed"] == 0


# ------------------------------------------------------------------------------ the function config

def test_the_rendered_alerts_function_reads_the_writer_stream_and_its_park_stream():
    settings = Settings(project="fraud")
    paths = ProjectPaths("fraud")
    (rendered,) = render_bundle(REPO, settings, functions=["alerts"])
    streams = {name: (f"{t['attributes']['containerName']}/{t['attributes']['streamPath']}",
                      t["attributes"]["consumerGroup"], t["attributes"]["seekTo"])
               for name, t in rendered.config["spec"]["triggers"].items() if t["kind"] == "v3ioStream"}
    assert streams == {"results": (paths.writer_stream, "alerts", "earliest"),
                       "parked": (paths.alerts_parked_stream, "alerts", "earliest")}
    (kafka,) = render_bundle(REPO, settings, functions=["alerts"], kafka_brokers=["kafka:9092"])
    topics = {name: t["attributes"]["topics"] for name, t in kafka.config["spec"]["triggers"].items()
              if t["kind"] == "kafka-cluster"}
    assert topics == {"results": [kafka_topic(paths.writer_stream)],
                      "parked": [kafka_topic(paths.alerts_parked_stream)]}
