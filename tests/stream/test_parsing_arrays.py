"""The fast path's arrays: rows kept per request when some are rejected, the boolean scan, the collector,
releasing the decoded body."""

from __future__ import annotations

import gc
import json
import threading

import numpy as np
from ingest_fixtures import batched, entry

from modelmon.core.timeutil import to_ms
from modelmon.stream import Ingestor, RawRecord
from modelmon.stream.frames import build_rows
from modelmon.stream.parsing import _may_hold_booleans, parse_record
from modelmon.stream.times import TimeBounds

NOW = to_ms("2026-06-01 12:00:00")
BOUNDS = TimeBounds(max_age_ms=86_400_000, max_skew_ms=60_000)


def _record() -> dict:
    """Four requests of 1, 3, 1 and 2 rows; the second is dated a year back."""
    rows = {0: [[1.0, 2.0]], 1: [[3.0, 4.0], [5.0, 6.0], [7.0, 8.0]], 2: [[9.0, 10.0]], 3: [[11.0, 12.0], [13.0, 14.0]]}
    entries = []
    for i, inputs in rows.items():
        one = entry(i, [0.0, 0.0], [], NOW - (365 * 86_400_000 if i == 1 else 1000 * i), 100 * (i + 1))
        one["request"]["inputs"] = inputs
        one["resp"]["outputs"] = [float(10 * i + k) for k in range(len(inputs))]
        entries.append(one)
    return batched(entries, endpoint_id="ep")


def test_a_rejected_request_takes_its_rows_with_it_and_the_others_keep_theirs():
    parsed = parse_record(RawRecord(json.dumps(_record()).encode()), "proj", BOUNDS, NOW)
    assert parsed.features is not None  # the fast path, sliced, not rebuilt
    assert parsed.event.request_ids == ["r0", "r2", "r3"] and len(parsed.rejections) == 1
    assert parsed.row_counts.tolist() == [1, 1, 2] and parsed.latency_us.tolist() == [100.0, 300.0, 400.0]
    rows = build_rows(parsed, [], [])
    assert rows.samples["request_id"].tolist() == ["r0", "r2", "r3", "r3"]
    assert rows.samples[["f0", "f1"]].to_numpy().tolist() == [[1, 2], [9, 10], [11, 12], [13, 14]]
    assert rows.samples["p0"].tolist() == [0.0, 20.0, 30.0, 31.0]
    assert rows.samples["latency_us"].tolist() == [100.0, 300.0, 400.0, 400.0]
    # the checked path (a boolean in the labels) stores the same rows
    checked = parse_record(RawRecord(json.dumps({**_record(), "labels": {"x": True}}).encode()), "proj", BOUNDS, NOW)
    assert checked.features is None
    expected = build_rows(checked, [], []).samples
    assert rows.samples.to_dict("list") == expected.to_dict("list")


def test_boolean_scan_answers_as_a_substring_search():
    bodies = [b"", b"t", b"tru", b"true", b"false", b"fals", b"alse", b"xtrue", b"truex", b'{"a":[1,2]}',
              b'{"a":true}', b'{"a": false}', b"strue", b"ffalse", b"f alse", b"tr ue", b"\xfftrue\xff"]
    for body in bodies:
        assert _may_hold_booleans(RawRecord(body)) == (b"true" in body or b"false" in body), body
        assert _may_hold_booleans(RawRecord(bytearray(body))) == (b"true" in body or b"false" in body), body


def test_the_collector_is_back_as_it_was_after_a_record():
    body = json.dumps(batched([entry(0, [1.0], [0.0], NOW)], endpoint_id="ep")).encode()
    assert gc.isenabled()
    parse_record(RawRecord(body), "proj")
    assert gc.isenabled()
    gc.disable()
    try:
        parse_record(RawRecord(b"not json"), "proj")
        assert not gc.isenabled()  # a caller that turned it off keeps it off
    finally:
        gc.enable()


def test_outputs_read_by_numpy_keep_their_numbers():
    entries = [entry(i, [1.0, float(i)], [i], NOW) for i in range(3)]  # integer predictions
    parsed = parse_record(RawRecord(json.dumps(batched(entries, endpoint_id="ep")).encode()), "proj")
    assert parsed.features is not None
    assert parsed.event.outputs == [[[0]], [[1]], [[2]]]
    assert all(type(rows[0][0]) is int for rows in parsed.event.outputs)
    np.testing.assert_array_equal(parsed.outputs, [[0.0], [1.0], [2.0]])


def test_threads_reading_at_once_leave_the_collector_on():
    body = json.dumps(batched([entry(i, [1.0, 2.0], [0.0], NOW) for i in range(50)], endpoint_id="ep")).encode()
    results = []

    def read() -> None:
        results.extend(len(parse_record(RawRecord(body), "proj").event) for _ in range(20))

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [50] * 80 and gc.isenabled()


def test_a_released_record_still_gives_each_request_its_own_body():
    entries = [entry(i, [1.0, float(i)], [0.0], NOW) for i in range(3)]
    parsed = parse_record(RawRecord(json.dumps(batched(entries, endpoint_id="ep", record_id="rec-7")).encode()), "proj")
    before = [parsed.payload(i) for i in range(3)]
    parsed.release()
    assert parsed.data is None and parsed.event.inputs == [] and parsed.event.outputs == []
    assert parsed.event.request_ids == ["r0", "r1", "r2"]  # what storing the rows still needs is kept
    assert [parsed.payload(i) for i in range(3)] == before  # read from the body again
    assert json.loads(before[1])["values"][0][0]["inputs"] == [[1.0, 1.0]]
    assert json.loads(before[1])["record_id"] == "rec-7.1"


def test_a_record_is_read_and_stored_without_one_collection(backend):
    """The collector paused over the whole record, and the decoded body freed inside the pause: no collection
    walks the record's objects, and the collector is on again after."""
    ingestor = Ingestor(backend, "proj")
    ingestor.setup()
    entries = [entry(i, [1.0, float(i)], [0.0], NOW - 1000 * i) for i in range(2000)]
    body = json.dumps(batched(entries, endpoint_id="ep")).encode()
    ingestor.process(RawRecord(body, 0, 1))  # first sight of the endpoint: its record created
    collections = []

    def count(phase: str, info: dict) -> None:
        if phase == "start":
            collections.append(info["generation"])

    gc.collect()
    gc.callbacks.append(count)
    try:
        report = ingestor.process(RawRecord(body, 0, 2))
    finally:
        gc.callbacks.remove(count)
    assert report.rows == 2000 and not report.duplicate
    assert collections == [] and gc.isenabled()


def test_rows_packed_as_doubles_refuse_what_numpy_would_not_read_as_numbers():
    """Rows of lists are read by ``struct``: text, None, objects, lists and integers beyond floats leave the
    fast path (the checked path names or stores them), as numpy's reading did."""
    for odd in ["1.5", None, {"a": 1}, [1.0], 10**400]:
        entries = [entry(0, [1.0, 2.0], [0.0], NOW), entry(1, [3.0, odd], [0.0], NOW)]
        body = json.dumps(batched(entries, endpoint_id="ep")).encode()
        assert parse_record(RawRecord(body), "proj").features is None, odd
    entries = [entry(0, [1, 2.5], [0.0], NOW), entry(1, [2**63 + 5, -0.0], [1], NOW)]  # integers: as floats
    parsed = parse_record(RawRecord(json.dumps(batched(entries, endpoint_id="ep")).encode()), "proj")
    assert parsed.features.tolist() == [[1.0, 2.5], [float(2**63 + 5), -0.0]] and parsed.features.flags.writeable
