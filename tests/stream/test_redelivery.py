"""At-least-once delivery: a record delivered again changes nothing."""

from __future__ import annotations

import json

import pytest
from ingest_fixtures import StreamFunction, batched, entry

from modelmon.core.timeutil import to_ms
from modelmon.stream import Ingestor, RawRecord, read_predictions
from modelmon.stream.frames import build_rows

T0 = to_ms("2024-03-01 12:00:00")


def _record(endpoint_id: str, start: int, n: int = 50) -> dict:
    entries = [entry(start + i, [float(i), 2.0 * i], [i % 2], T0 + (start + i) * 1500, 100) for i in range(n)]
    entries.append({"request": {"id": f"e{start}", "inputs": [[0.0, 0.0]]}, "when": T0 + start, "error": "boom"})
    return batched(entries, endpoint_id=endpoint_id)


def _state(fn, endpoint_id: str) -> tuple:
    ep = fn.endpoint(endpoint_id)
    rows = fn.samples(endpoint_id)
    predictions = read_predictions(fn.backend.tsdb, fn.paths.predictions_tsdb, endpoint_id, 0, 2**62)
    errors = fn.tsdb(fn.paths.errors_tsdb)
    return (ep.request_count, ep.error_count, ep.latency_sum_us, ep.watermark_ms, len(rows),
            rows["request_id"].nunique(), predictions["count"].sum(), errors["count"].sum())


@pytest.mark.parametrize("positioned", [True, False], ids=["stream-position", "body-hash"])
def test_same_record_twice_counts_once(fn, positioned):
    offsets = (1, 2) if positioned else (None, None)
    fn.send(_record("ep-r", 0), shard=0 if positioned else None, offset=offsets[0])
    second = _record("ep-r", 50)
    fn.send(second, shard=0 if positioned else None, offset=offsets[1])
    once = _state(fn, "ep-r")
    assert once == (100, 2, 10_000.0, T0 + 99 * 1500 + 1, 100, 100, 100, 2)

    report = fn.send(second, shard=0 if positioned else None, offset=offsets[1])
    assert report["duplicates"] == 1 and report["requests"] == 0
    assert _state(fn, "ep-r") == once


def test_older_records_replayed_after_a_restart_are_skipped(fn, home):
    records = [_record("ep-replay", 100 * k) for k in range(3)]
    for k, record in enumerate(records):
        fn.send(record, shard=1, offset=k + 1)
    once = _state(fn, "ep-replay")
    fn.close()  # a new process: empty cache, positions read back from the endpoint record

    restarted = StreamFunction(home)
    try:
        for k, record in enumerate(records):  # the platform resumes from an older committed offset
            assert restarted.send(record, shard=1, offset=k + 1)["duplicates"] == 1
        assert _state(restarted, "ep-replay") == once
        restarted.send(_record("ep-replay", 300), shard=1, offset=4)
        assert _state(restarted, "ep-replay")[0] == once[0] + 50
    finally:
        restarted.close()


def test_crash_before_the_endpoint_update_rewrites_the_same_rows(fn):
    """Samples and TSDB rows written, endpoint not updated (killed in between): redelivery counts once."""
    body = json.dumps(_record("ep-crash", 0)).encode()
    ingestor = Ingestor(fn.backend, "proj")
    ingestor.setup()
    parsed = ingestor.parse(RawRecord(body, 0, 1))
    endpoint = ingestor.endpoints.get_or_create(parsed.event, int(parsed.when_ms.min()))
    rows = build_rows(parsed, endpoint.feature_names, endpoint.label_names)
    fn.backend.samples.append("ep-crash", rows.samples, "s0-1")  # the part that ran before the crash

    fn.send(body, shard=0, offset=1)
    assert _state(fn, "ep-crash")[:2] == (50, 1)
    assert _state(fn, "ep-crash")[4:] == (50, 50, 50, 1)
