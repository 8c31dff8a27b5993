"""What the fuzz test (test_fuzz.py) found in reading records, one focused test each."""

from __future__ import annotations

import json

import pytest
from ingest_fixtures import batched, entry

from modelmon.backends.base import scan_all
from modelmon.core.timeutil import to_ms
from modelmon.stream import RawRecord
from modelmon.stream.parsing import parse_record
from modelmon.stream.times import when_to_ms

T = to_ms("2024-03-01 12:00:00")  # the fixture accepts times a century back
GOOD = [entry(0, [1.0, 2.0], [0], T), entry(1, [3.0, 4.0], [1], T + 1)]


def _with_bad_request(change) -> bytes:
    """A batched record of GOOD and request 'r2', changed by ``change`` (JSON text in, JSON text out)."""
    record = batched([*GOOD, entry(2, [5.0, 6.0], [0], T + 2, microsec=777)], endpoint_id="ep")
    return change(json.dumps(record)).encode()


BAD_REQUEST = {  # JSON a producer can write that no float holds, or that is not a number at all
    "integer feature past float": (lambda s: s.replace("[[5.0, 6.0]]", f"[[{10**400}, 6.0]]"),
                                   "contains an integer too large for a float"),
    "integer latency past float": (lambda s: s.replace("777", str(10**400)), "'microsec' must be a non-negative"),
    "infinite latency": (lambda s: s.replace("777", "1e999"), "'microsec' must be a non-negative"),
    "NaN latency": (lambda s: s.replace("777", "NaN"), "'microsec' must be a non-negative"),
    "integer time past float": (lambda s: s.replace(str(T + 2), str(10**400)), "is not a timestamp"),
}


@pytest.mark.parametrize("kind", BAD_REQUEST)
def test_a_request_with_an_unreadable_number_is_dead_lettered_alone(fn, kind):
    """These raised (OverflowError, ValueError) while the record was read: the whole record, its valid
    requests too, was dead-lettered with 'cannot read the record', or the handler raised."""
    change, reason = BAD_REQUEST[kind]
    report = fn.send(_with_bad_request(change), offset=1)
    assert (report["requests"], report["rows"], report["rejected"]) == (2, 2, 1)
    (letter,) = fn.dead_letters()
    assert reason in letter.reason and ("'r2'" in letter.reason or "values[2]" in letter.reason), letter.reason
    assert json.loads(letter.payload)["values"][0][0]["id"] == "r2"
    assert fn.samples("ep")["request_id"].tolist() == ["r0", "r1"]
    endpoint = fn.endpoint("ep")
    assert (endpoint.request_count, endpoint.latency_sum_us, endpoint.watermark_ms) == (2, 2000.0, T + 2)


def test_a_batched_record_without_requests_is_dead_lettered_and_creates_no_endpoint(fn):
    """``values: []`` made the handler raise (the minimum of no event times) on every delivery."""
    body = json.dumps({**batched(GOOD, endpoint_id="ep-empty"), "values": []}).encode()
    report = fn.send(body, offset=1)
    assert (report["requests"], report["rejected"]) == (0, 1)
    (letter,) = fn.dead_letters()
    assert letter.reason == "batched tracking record has no requests: 'values' is empty" and letter.payload == body
    assert list(scan_all(fn.backend.kv, fn.paths.endpoints_table)) == []


def test_unreadable_metadata_dead_letters_the_record_once_even_with_a_boolean_in_it(fn):
    """A body holding a JSON boolean takes the checked path, which dead-lettered such a record once per
    request (each letter with the record's reason), where any other body gets one letter for the record."""
    body = json.dumps({**batched([*GOOD, entry(2, [5.0, 6.0], [0], T + 2)], endpoint_id="ep"), "model": True}).encode()
    report = fn.send(body, offset=1)
    assert (report["requests"], report["rejected"]) == (0, 1)
    (letter,) = fn.dead_letters()
    assert (letter.reason, letter.payload) == ("tracking event has no model name ('model')", body)


def test_a_request_of_empty_rows_does_not_set_a_new_endpoints_width(fn):
    """A first request with ``inputs: [[]]`` gave a new endpoint zero features, so its valid requests were
    rejected for their width."""
    empty = {"request": {"id": "r9", "inputs": [[]]}, "resp": {"outputs": [0]}, "when": T, "microsec": 5}
    report = fn.send(batched([empty, *GOOD], endpoint_id="ep-new"), offset=1)
    assert (report["requests"], report["rejected"]) == (2, 1)
    assert "request.inputs: a row has 0 features" in fn.dead_letters()[0].reason
    assert fn.endpoint("ep-new").feature_names == ["f0", "f1"]
    assert fn.samples("ep-new")[["f0", "f1"]].to_numpy().tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_naive_text_after_text_with_an_offset_is_read_as_utc():
    """pandas read naive text following '+02:00' text as +02:00 too: MLRun's UTC times landed 2 h early."""
    whens = ["2024-03-01T14:00:00+02:00", "2024-03-01 12:00:00", "2024-03-01T07:00:00-05:00",
             "2024-03-01 12:00:00.250000", "2024-03-01T12:00:00Z", "2024-03-01", 1_709_294_400_000]
    assert when_to_ms(whens).tolist() == [T, T, T, T + 250, T, T - 12 * 3_600_000, T]
    record = batched([entry(i, [1.0], [0], when) for i, when in enumerate(whens[:4])], endpoint_id="ep")
    assert parse_record(RawRecord(json.dumps(record).encode()), "proj").when_ms.tolist() == [T, T, T, T + 250]


@pytest.mark.parametrize("with_nan", [False, True], ids=["orjson refuses it", "after NaN, the stdlib reads it"])
def test_a_lone_surrogate_rejects_the_record_before_anything_is_stored(fn, with_nan):
    """The standard library (the fallback for NaN) decodes '\\ud800' into text no store can write: the model name
    was stored as is, or the sample write failed after the endpoint record was created."""
    record = batched([*GOOD, entry(2, [float("nan") if with_nan else 5.0, 6.0], [0], T + 2)], endpoint_id="ep-s",
                     model="churn\ud800")
    report = fn.send(json.dumps(record).encode(), offset=1)
    assert (report["requests"], report["rejected"]) == (0, 1)
    (letter,) = fn.dead_letters()
    assert "text with a lone surrogate ('\\ud800' is not Unicode)" in letter.reason, letter.reason
    assert list(scan_all(fn.backend.kv, fn.paths.endpoints_table)) == []


def test_a_surrogate_pair_is_one_character_and_is_kept(fn):
    record = batched([*GOOD, entry(2, [float("nan"), 6.0], [0], T + 2)], endpoint_id="ep-pair",
                     model="churn \U0001f600")
    report = fn.send(json.dumps(record).encode(), offset=1)  # escaped as \ud83d\ude00, read by the stdlib (NaN)
    assert (report["requests"], report["rejected"]) == (2, 1)
    assert fn.endpoint("ep-pair").name == "churn \U0001f600"
