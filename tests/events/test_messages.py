from __future__ import annotations

import json

import pytest

from modelmon import ModelMonitoringApplicationMetric, ModelMonitoringApplicationResult, ResultKindApp
from modelmon.core.errors import InvalidEvent
from modelmon.events import DeadLetter, WindowEvent, WriterEvent


def test_window_event_round_trip_and_key():
    event = WindowEvent("p", "ep", "drift", 600_000, 1_200_000, endpoint_name="churn")
    body = event.to_body()
    data = json.loads(body)
    assert data["kind"] == "window" and data["schema"] == 1
    assert WindowEvent.from_body(body) == event
    assert event.key == ("ep", "drift", 600_000, 1_200_000)


def test_window_must_not_be_empty():
    with pytest.raises(InvalidEvent, match="not after its start"):
        WindowEvent("p", "ep", "drift", 5, 5)


def test_writer_event_round_trip_with_results_metrics_and_error():
    event = WriterEvent(
        "p", "ep", "drift", 0, 600_000,
        results=(ModelMonitoringApplicationResult("general_drift", 0.3, ResultKindApp.data_drift, 1, {"f": 1}),),
        metrics=(ModelMonitoringApplicationMetric("tvd_mean", 0.2),),
    )
    assert WriterEvent.from_body(event.to_body()) == event
    failed = WriterEvent("p", "ep", "drift", 0, 600_000, error="ZeroDivisionError: x")
    assert WriterEvent.from_body(failed.to_body()).error == "ZeroDivisionError: x"


def test_dead_letter_keeps_binary_payloads():
    letter = DeadLetter(source="s", reason="bad", payload=b"\xff\x00raw", time_ms=1, shard=2, sequence=9)
    back = DeadLetter.from_body(letter.to_body())
    assert back == letter


@pytest.mark.parametrize(
    ("cls", "body", "reason"),
    [
        (WindowEvent, {"kind": "writer", "schema": 1}, "expected a 'window' message"),
        (WindowEvent, {"kind": "window", "schema": 99}, "schema version 99"),
        (WindowEvent, {"kind": "window", "schema": 1, "project": "p"}, "missing 'endpoint_id'"),
        (WindowEvent, {"kind": "window", "schema": 1, "project": "p", "endpoint_id": "e", "app_name": "a",
                       "start_ms": "0", "end_ms": 1}, "'start_ms' has type str"),
        (WriterEvent, {"kind": "writer", "schema": 1, "project": "p", "endpoint_id": "e", "app_name": "a",
                       "start_ms": 0, "end_ms": 1, "results": [{"name": "bad name", "value": 1, "kind": 0,
                                                                "status": 0}], "metrics": []}, "bad result"),
        (DeadLetter, b"{", "not valid JSON"),
    ],
)
def test_unreadable_messages(cls, body, reason):
    with pytest.raises(InvalidEvent) as info:
        cls.from_body(body)
    assert reason in info.value.reason
