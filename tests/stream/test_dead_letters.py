"""Input the stream function cannot read goes to the dead-letter stream with the reason; the rest is kept."""

from __future__ import annotations

import json

import pytest
from ingest_fixtures import batched, entry, single

from modelmon.core.timeutil import to_ms
from modelmon.events import parse_tracking

T0 = to_ms("2024-03-01 12:00:00")
GOOD = [entry(0, [1.0, 2.0], [0], T0), entry(1, [3.0, 4.0], [1], T0 + 1)]


def _raw_batch(bad_value_json: str) -> bytes:
    """A batched record whose third request has ``inputs`` = ``bad_value_json`` (spliced in as text)."""
    body = json.dumps(batched([*GOOD, entry(2, [9.0, 9.0], [0], T0 + 2)], endpoint_id="ep-dl"))
    return body.replace("[[9.0, 9.0]]", bad_value_json).encode()


WHOLE_RECORD = {
    "non-JSON": (b"model=churn;inputs=1,2", "not valid JSON"),
    "not UTF-8": (b"\xff\xfe{}", "not UTF-8"),
    "JSON list": (b"[1, 2]", "expected an object"),
    "no model": (json.dumps({**single(), "model": ""}).encode(), "no model name"),
    "unknown shape": (json.dumps({"model": "churn", "payload": [1, 2]}).encode(), "no 'request' object"),
    "missing inputs": (json.dumps(single(request={"id": "x"})).encode(), "request.inputs"),
    "mismatched rows": (json.dumps(single(resp={"outputs": [0, 1, 1]})).encode(), "2 input rows but 3 output rows"),
    "bad headers": (json.dumps({**single(), "headers": "request", "values": []}).encode(), "'headers' must be"),
    "bad endpoint id": (json.dumps(single(endpoint_id="../etc")).encode(), "endpoint id '../etc' is not a valid name"),
}


@pytest.mark.parametrize("kind", WHOLE_RECORD)
def test_unreadable_record_is_dead_lettered_whole(fn, kind):
    body, reason = WHOLE_RECORD[kind]
    report = fn.send(body, offset=7)
    assert report["rejected"] == 1 and report["requests"] == 0
    [letter] = fn.dead_letters()
    assert reason in letter.reason
    assert letter.payload == body and (letter.shard, letter.sequence) == (0, 7)
    assert letter.source == fn.paths.tracking_stream and letter.function == "model-monitoring-stream"


BAD_REQUEST = {
    "NaN": ("[[NaN, 1.0]]", "non-finite"),
    "inf": ("[[1.0, Infinity]]", "non-finite"),
    "huge number": ("[[1e999, 1.0]]", "non-finite"),
    "boolean": ("[[true, 1.0]]", "values must be numbers, text, objects or lists, got bool"),
    "object too deep": ("[[" + "[" * 17 + "]" * 17 + ", 1.0]]", "is nested more than 16 levels deep"),
    "ragged rows": ("[[1.0, 2.0], [3.0]]", "every row must be a list of 2 values"),
    "too many features": ("[[1.0, 2.0, 3.0]]", "has 3 features and 1 outputs; endpoint ep-dl expects 2 and 1"),
    "empty inputs": ("[]", "request.inputs must be a non-empty list"),
    "empty row": ("[[]]", "has 0 features"),
    "inputs not a list": ('"1,2"', "request.inputs must be a non-empty list"),
}


@pytest.mark.parametrize("kind", BAD_REQUEST)
def test_bad_request_is_dead_lettered_alone(fn, kind):
    bad, reason = BAD_REQUEST[kind]
    report = fn.send(_raw_batch(bad), offset=3)
    assert (report["requests"], report["rows"], report["rejected"]) == (2, 2, 1)
    [letter] = fn.dead_letters()
    assert reason in letter.reason, letter.reason
    # the letter holds the bad request alone, replayable as a record of its own
    replay = json.loads(letter.payload)
    assert replay["endpoint_id"] == "ep-dl" and len(replay["values"]) == 1
    assert replay["values"][0][0]["id"] == "r2"
    rows = fn.samples("ep-dl")
    assert rows["request_id"].tolist() == ["r0", "r1"]
    assert rows[["f0", "f1"]].to_numpy().tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert fn.endpoint("ep-dl").request_count == 2


def test_bad_time_is_rejected_alone(fn):
    record = batched([*GOOD, entry(2, [5.0, 6.0], [0], "yesterday-ish")], endpoint_id="ep-dl")
    report = fn.send(record, offset=1)
    assert (report["requests"], report["rejected"]) == (2, 1)
    [letter] = fn.dead_letters()
    assert "'when' 'yesterday-ish' is not a timestamp" in letter.reason
    assert fn.endpoint("ep-dl").watermark_ms == T0 + 2


def test_valid_traffic_around_bad_records_is_unaffected(fn):
    fn.send(batched(GOOD, endpoint_id="ep-ok"), offset=1)
    fn.send(b"garbage", offset=2)
    fn.send(_raw_batch("[[NaN, 1.0]]"), offset=3)
    fn.send(batched([entry(5, [7.0, 8.0], [1], T0 + 5)], endpoint_id="ep-ok"), offset=4)
    assert fn.endpoint("ep-ok").request_count == 3
    assert fn.endpoint("ep-dl").request_count == 2
    assert len(fn.dead_letters()) == 2


def test_dead_lettered_request_replays_once_fixed(fn):
    fn.send(_raw_batch("[[NaN, 1.0]]"), offset=1)
    [letter] = fn.dead_letters()
    fixed = letter.payload.replace(b"NaN", b"0.5")
    parse_tracking(fixed, "proj")  # readable now
    assert fn.send(fixed, offset=2)["requests"] == 1
    assert fn.endpoint("ep-dl").request_count == 3
