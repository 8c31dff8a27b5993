"""Packed writer records (an app function's answer to packed windows) through the writer and the alerts function.

The writer stores a pack as writing its events one by one would, dead-letters a bad message of it alone (after
storing the others) and a record that is no JSON array whole; the alerts function evaluates every event of a pack.
"""

from __future__ import annotations

import nuclio_sdk
import nuclio_sdk.test
import pytest

from functions.alerts import handler as alerts_function
from modelmon.alerts.configs import AlertConfig, AlertConfigStore
from modelmon.alerts.evaluator import Evaluator
from modelmon.backends import make_backend, scan_all
from modelmon.core.paths import ProjectPaths
from modelmon.core.results import ModelMonitoringApplicationMetric as Metric
from modelmon.core.results import ModelMonitoringApplicationResult as Result
from modelmon.endpoints.record import ModelEndpoint
from modelmon.events import WriterEvent
from modelmon.functions.packing import pack
from modelmon.queries import dead_letters
from modelmon.writer import ResultWriter
from writer import handler as writer_function

PERIOD = 600_000
T0 = 1_700_000_000_000 // PERIOD * PERIOD
PATHS = ProjectPaths("test")


@pytest.fixture
def backend(settings, monkeypatch):
    monkeypatch.setenv("MODELMON_PROJECT", "test")
    monkeypatch.delenv("MODELMON_ALERT_WEBHOOK_URL", raising=False)
    b = make_backend(settings)
    for endpoint in ("ep1", "ep2"):
        b.kv.put(PATHS.endpoints_table, endpoint, ModelEndpoint(endpoint, name=f"model-{endpoint}").to_item())
    yield b
    b.close()


def _events() -> list[WriterEvent]:
    return [
        WriterEvent("test", "ep1", "drift", T0, T0 + PERIOD, (Result("d", 0.1, 0, 0),), (Metric("m", 1.0),)),
        WriterEvent("test", "ep2", "drift", T0, T0 + PERIOD, (Result("d", 0.9, 0, 2),)),
        WriterEvent("test", "ep1", "drift", T0 + PERIOD, T0 + 2 * PERIOD, (Result("d", 0.7, 0, 2),)),
        WriterEvent("test", "ep2", "drift", T0 + PERIOD, T0 + 2 * PERIOD, error="boom"),
        WriterEvent("test", "ep1", "drift", T0, T0 + PERIOD, (Result("d", 0.2, 0, 1),)),  # late, recomputed
    ]


def _state(backend) -> dict[str, object]:
    def table(name: str) -> dict[str, dict]:
        return {k: {a: v for a, v in item.items() if a not in ("updated_ms", "time_ms")}
                for k, item in scan_all(backend.kv, name)}
    endpoints = {k: (v.get("drift_status"), v.get("drift_status_end_ms"))
                 for k, v in table(PATHS.endpoints_table).items()}
    return {"results": table(PATHS.app_results_table), "metrics": table(PATHS.app_metrics_table),
            "failures": table(PATHS.app_failures_table), "alerts": sorted(table(PATHS.alerts_table)),
            "endpoints": endpoints}


def _call(handler, body: bytes, offset: int = 1) -> dict:
    return nuclio_sdk.test.Platform().call_handler(handler, nuclio_sdk.Event(body=body, shard_id=0, offset=offset))


def test_a_pack_is_stored_as_its_events_one_by_one(backend, settings, tmp_path):
    (record,) = pack([e.to_body() for e in _events()])

    assert _call(writer_function.handler, record) == {"events": 5, "results": 4, "metrics": 1, "failures": 1,
                                                      "dead_lettered": 0}

    one_by_one = make_backend(settings.__class__(home=str(tmp_path / "alone"), project="test"))
    for endpoint in ("ep1", "ep2"):
        one_by_one.kv.put(PATHS.endpoints_table, endpoint, ModelEndpoint(endpoint, name=f"model-{endpoint}").to_item())
    writer = ResultWriter(one_by_one, PATHS)
    for event in _events():
        writer.handle(event.to_body())
    assert _state(backend) == _state(one_by_one)
    assert _state(backend)["results"]["ep1.drift.d"]["end_ms"] == T0 + 2 * PERIOD  # the late window did not win
    one_by_one.close()


def test_bad_messages_of_a_pack_are_dead_lettered_alone(backend):
    good = [e.to_body() for e in _events()[:2]]
    other = WriterEvent("elsewhere", "ep1", "drift", T0, T0 + PERIOD).to_body()
    record = b"[" + b",".join([good[0], b'"text"', other, b'{"kind":"writer","schema":1,"project":"test"}',
                               good[1]]) + b"]"

    totals = _call(writer_function.handler, record)

    assert totals == {"events": 2, "results": 2, "metrics": 1, "failures": 0, "dead_lettered": 0}
    assert sorted(_state(backend)["results"]) == ["ep1.drift.d", "ep2.drift.d"]
    letters = dead_letters(backend, "test")
    assert sorted(letters["reason"]) == [
        "message 2 of 5 in a packed record: a JSON str, expected an object",
        "message 3 of 5 in a packed record: writer event of project 'elsewhere' reached project 'test'",
        "message 4 of 5 in a packed record: writer message has a bad result or metric: writer message is missing "
        "'results'"]
    assert set(letters["function"]) == {"model-monitoring-writer"}


def test_a_record_that_is_no_array_is_dead_lettered_whole(backend):
    assert _call(writer_function.handler, b"[1, 2") == {"events": 0, "results": 0, "metrics": 0, "failures": 0,
                                                          "dead_lettered": 1}
    (reason,) = dead_letters(backend, "test")["reason"]
    assert reason.startswith("packed record is not valid JSON")


def test_the_alerts_function_evaluates_every_event_of_a_pack(backend):
    AlertConfigStore(backend.kv, PATHS).store(AlertConfig.from_dict(
        {"name": "drift", "trigger": {"events": ["data_drift_detected"]}, "notifications": [{"kind": "log"}]}))
    (record,) = pack([e.to_body() for e in _events()])

    totals = _call(alerts_function.handler, record)

    assert totals["events"] == 5 and totals["notifications"] == 2
    active = Evaluator(backend.kv, PATHS).activations(active_only=True)
    assert sorted(item["endpoint_id"] for item in active) == ["ep1", "ep2"]
    assert _call(alerts_function.handler, b"[1, 2", offset=2)["skipped"] == 1  # the writer dead-letters it
