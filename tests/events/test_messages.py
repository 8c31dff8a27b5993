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


#: A failure as app functions wrote it before error_type/location/traceback existed (schema 1).
OLD_FAILURE = (b'{"kind":"writer","schema":1,"project":"p","endpoint_id":"ep","endpoint_name":"churn",'
               b'"app_name":"drift","start_ms":0,"end_ms":600000,"results":[],"metrics":[],'
               b'"error":"KeyError: \'x\'"}')


def test_a_failure_carries_its_type_location_and_traceback():
    failed = WriterEvent("p", "ep", "drift", 0, 600_000, error="KeyError: 'x'", endpoint_name="churn",
                         error_type="KeyError", location="/apps/app.py:12",
                         traceback="Traceback (most recent call last):\n  ...\nKeyError: 'x'\n")
    body = failed.to_body()
    assert WriterEvent.from_body(body) == failed
    data = json.loads(body)
    assert data["schema"] == 1  # a reader of schema 1 (every older writer) still reads it
    # what an older writer reads from it is exactly the old failure: the new fields are extra keys it ignores
    old = json.loads(OLD_FAILURE)
    assert {k: data[k] for k in old} == old
    assert set(data) - set(old) == {"error_type", "location", "traceback"}


def test_a_failure_written_before_the_details_reads_without_them():
    event = WriterEvent.from_body(OLD_FAILURE)
    assert event.error == "KeyError: 'x'"
    assert (event.error_type, event.location, event.traceback) == (None, None, None)
    # and a success carries no detail fields at all: its body is as before
    ok = WriterEvent("p", "ep", "drift", 0, 600_000, endpoint_name="churn")
    assert set(json.loads(ok.to_body())) == set(json.loads(OLD_FAILURE))


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
        (WriterEvent, {"kind": "writer", "schema": 1, "project": "p", "endpoint_id": "e", "app_name": "a",
                       "start_ms": 0, "end_ms": 1, "results": [{"name": "r", "value": 1, "kind": 0, "status": 0,
                                                                "extra_data": [1]}], "metrics": []},
         "extra_data must be a dict"),
        (WriterEvent, {"kind": "writer", "schema": 1, "project": "p", "endpoint_id": "e", "app_name": "a",
                       "start_ms": 0, "end_ms": 1, "results": [["r", 1, 0, 0]], "metrics": []},
         "a result must be a JSON object, not list"),
        (WriterEvent, {"kind": "writer", "schema": 1, "project": "p", "endpoint_id": "e", "app_name": "a",
                       "start_ms": 0, "end_ms": 1, "results": [{"name": "r", "value": 1, "kind": 0, "status": 9}],
                       "metrics": []}, "unknown status 9"),
        (WriterEvent, {"kind": "writer", "schema": 1, "project": "p", "endpoint_id": "e", "app_name": "a",
                       "start_ms": 0, "end_ms": 1, "results": [], "metrics": [], "error": "E: x",
                       "location": 12}, "'location' must be text or null"),
        (DeadLetter, b"{", "not valid JSON"),
    ],
)
def test_unreadable_messages(cls, body, reason):
    with pytest.raises(InvalidEvent) as info:
        cls.from_body(body)
    assert reason in info.value.reason
