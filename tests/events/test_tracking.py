from __future__ import annotations

import hashlib
import json

import pytest

from modelmon.core.errors import InvalidEvent
from modelmon.events import endpoint_uid, parse_tracking, tracking_body

BASE = {
    "class": "SKLearnModelServer",
    "worker": 0,
    "model": "churn",
    "version": "v2",
    "host": "serving-abc",
    "function_uri": "proj/serving:latest",
}


def single(**overrides):
    event = {
        **BASE,
        "request": {"id": "r-1", "inputs": [[1.0, 2.0, "a"], [3.0, 4.0, "b"]]},
        "op": "infer",
        "resp": {"id": "r-1", "model_name": "churn", "model_version": "v2", "outputs": [0, 1]},
        "when": "2024-03-01 12:00:00.250000+00:00",
        "microsec": 1_500_000,
        "metrics": {},
    }
    event.update(overrides)
    return event


def test_endpoint_id_is_mlruns_hash():
    expected = hashlib.sha1(b"proj_serving_latest_churn_v2").hexdigest()
    assert endpoint_uid("other", "proj/serving:latest", "churn", "v2") == expected
    # no tag: the hash key; neither: N/A; no model version: 'latest' as MLRun registers it
    assert endpoint_uid("p", "p/f@abc123", "m", None) == hashlib.sha1(b"p_f_abc123_m_latest").hexdigest()
    assert endpoint_uid("p", "f", "m", "1") == hashlib.sha1(b"p_f_N/A_m_1").hexdigest()


def test_single_event_with_flat_outputs():
    event = parse_tracking(json.dumps(single()).encode(), project="proj")
    assert event.endpoint_id == endpoint_uid("proj", "proj/serving:latest", "churn", "v2")
    assert event.model == "churn" and event.version == "v2" and event.model_class == "SKLearnModelServer"
    assert event.request_ids == ["r-1"]
    assert event.inputs == [[[1.0, 2.0, "a"], [3.0, 4.0, "b"]]]
    assert event.outputs == [[[0], [1]]]  # a flat output list is one prediction per input row
    assert event.microsec == [1_500_000]
    assert event.errors == [None]


def test_single_row_inputs_and_given_endpoint_id():
    event = parse_tracking(
        single(endpoint_id="ep-1", request={"id": 7, "inputs": [1, 2]}, resp={"outputs": [0.5]}), "proj"
    )
    assert event.endpoint_id == "ep-1"
    assert event.request_ids == ["7"]
    assert event.inputs == [[[1, 2]]]
    assert event.outputs == [[[0.5]]]


def test_batched_headers_values_shape():
    headers = ["request", "op", "resp", "when", "microsec", "metrics"]
    values = [
        [{"id": f"r{i}", "inputs": [[i, i + 1]]}, "infer", {"outputs": [[i % 2]]},
         f"2024-03-01 12:0{i}:00", 100 * i, {}]
        for i in range(3)
    ]
    event = parse_tracking({**BASE, "headers": headers, "values": values}, "proj")
    assert len(event) == 3
    assert event.request_ids == ["r0", "r1", "r2"]
    assert event.when == ["2024-03-01 12:00:00", "2024-03-01 12:01:00", "2024-03-01 12:02:00"]
    assert event.microsec == [0, 100, 200]


def test_error_event_has_no_outputs():
    event = parse_tracking(
        {**BASE, "request": {"id": "x", "inputs": [[1, 2]]}, "op": "infer", "when": "2024-03-01 12:00:00",
         "error": "ValueError: bad input"},
        "proj",
    )
    assert event.errors == ["ValueError: bad input"]
    assert event.outputs == [None]
    assert event.microsec == [None]


def test_modelmon_client_shape_round_trips():
    body = tracking_body(
        model="m", function_uri="p/f", version="1",
        requests=[{"request": {"id": "a", "inputs": [[1.0]]}, "resp": {"outputs": [[2.0]]},
                   "when": "2024-01-01T00:00:00+00:00", "microsec": 12}],
    )
    event = parse_tracking(json.dumps(body), "p")
    assert event.request_ids == ["a"] and event.outputs == [[[2.0]]] and event.microsec == [12]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not valid JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[1, 2]", "expected an object"),
        (json.dumps({**BASE, "model": None}), "no model name"),
        (json.dumps({k: v for k, v in single().items() if k != "request"}), "no 'request'"),
        (json.dumps(single(request={"id": 1})), "request.inputs must be a non-empty list"),
        (json.dumps(single(request={"id": 1, "inputs": [[1, 2], [3]]})), "every row"),
        (json.dumps(single(request={"id": 1, "inputs": [[True]]})), "numbers, text, objects or lists, got bool"),
        (json.dumps(single(resp={"outputs": [1, 2, 3]})), "input rows but"),
        (json.dumps(single(resp={"outputs": [[1], [2], [3]]})), "2 input rows but 3 output rows"),
        (json.dumps(single(microsec=-5)), "microsec"),
        (json.dumps(single(microsec="fast")), "microsec"),
        (json.dumps(single(when=None)), "'when'"),
        (b'{"model": "m", "request": {"inputs": [[NaN]]}}', "non-standard JSON number NaN"),
        (json.dumps({**BASE, "headers": ["request"], "values": [[1, 2]]}), "values[0]"),
        (json.dumps({**BASE, "kind": "window"}), "expected a tracking event"),
    ],
)
def test_malformed_events_raise_invalid_event_with_reason(body, reason):
    with pytest.raises(InvalidEvent) as info:
        parse_tracking(body, "proj")
    assert reason in info.value.reason
