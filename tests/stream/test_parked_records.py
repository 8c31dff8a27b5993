"""A tracking record the stream function parked (the store stayed down past the retry deadline) comes back
after later records of its shard: it must be stored and counted once, not skipped as already applied.

The scenario of issue 20: framesd restarts, record 1's samples are written and its TSDB write fails; Nuclio
goes on, records 2 and 3 are applied (the endpoint's applied sequence for the shard is now 3), then the
parked copy of record 1 arrives at position 4.
"""

from __future__ import annotations

import json

import pytest
from ingest_fixtures import StreamFunction, batched, entry

from modelmon.apps.registry import AppRegistry
from modelmon.controller.schedule import schedule_key
from modelmon.controller.windows import floor_to
from modelmon.core.timeutil import to_ms
from modelmon.functions.handling import Delivery, parked_body
from modelmon.stream import Ingestor, RawRecord, read_predictions
from modelmon.stream.frames import build_rows

T0 = to_ms("2024-03-01 12:00:00")
EP = "ep-parked"


def _record(start: int, record_id: str | None = None) -> bytes:
    entries = [entry(start + i, [float(i), 2.0], [i % 2], T0 + (start + i) * 1000, 100) for i in range(10)]
    body = batched(entries, endpoint_id=EP)
    if record_id is not None:
        body["record_id"] = record_id
    return json.dumps(body).encode()


def _parked(body: bytes, origin: tuple[int, int], times: int = 1) -> bytes:
    return parked_body(Delivery(body, origin, parked=times - 1), "model-monitoring-stream", "TSDB down", 0)


def _write_samples_then_fail(fn: StreamFunction, body: bytes, position: tuple[int, int]) -> None:
    """What record 1's attempt did before the TSDB write failed: its samples are stored, nothing counted."""
    ingestor = Ingestor(fn.backend, "proj")
    ingestor.setup()
    raw = RawRecord(body, *position)
    parsed = ingestor.parse(raw)
    endpoint = ingestor.endpoints.get_or_create(parsed.event, int(parsed.when_ms.min()))
    rows = build_rows(parsed, endpoint.feature_names, endpoint.label_names)
    fn.backend.samples.append(EP, rows.samples, parsed.record.batch_id)  # the id parsing settled on


def _stored(fn: StreamFunction) -> tuple[int, int, int, int]:
    rows = fn.samples(EP)
    predictions = read_predictions(fn.backend.tsdb, fn.paths.predictions_tsdb, EP, 0, 2**62)
    return fn.endpoint(EP).request_count, len(rows), rows["request_id"].nunique(), int(predictions["count"].sum())


@pytest.mark.parametrize("record_id", [None, "rec-1"], ids=["mlrun-no-record-id", "producer-record-id"])
def test_a_parked_copy_is_stored_once_after_later_records_of_its_shard(fn, record_id):
    first = _record(0, record_id)
    _write_samples_then_fail(fn, first, (0, 1))
    fn.send(_record(10), offset=2)
    fn.send(_record(20), offset=3)
    assert _stored(fn) == (20, 30, 30, 20)  # record 1's rows are there, its requests are not counted

    assert fn.send(first, offset=1)["duplicates"] == 1  # at its own position it would be skipped for good

    report = fn.send(_parked(first, (0, 1)), offset=4)
    assert (report["requests"], report["duplicates"]) == (10, 0)
    assert _stored(fn) == (30, 30, 30, 30)  # counted once; its rows replaced the failed attempt's
    assert fn.item(EP)["ingest_seq_0"] == 4

    assert fn.send(_parked(first, (0, 1)), offset=4)["duplicates"] == 1  # the copy redelivered after a crash
    assert _stored(fn) == (30, 30, 30, 30)
    assert not fn.dead_letters()


def test_a_copy_parked_again_is_stored_once_where_it_finally_goes_through(fn):
    first = _record(0)
    fn.send(_record(10), offset=2)
    # the copy at position 3 failed too (not sent here) and was parked again: it comes back at 5
    fn.send(_record(20), offset=4)
    assert fn.send(_parked(first, (0, 1), times=2), offset=5)["requests"] == 10
    assert _stored(fn) == (30, 30, 30, 30)


@pytest.mark.parametrize(("record_id", "counted"), [("rec-lost", 20), (None, 30)], ids=["producer-id", "mlrun"])
def test_a_copy_of_a_record_whose_count_applied_after_all(fn, record_id, counted):
    """The endpoint update applied but every answer was lost until the deadline, so the record was parked:
    the producer's id knows it was counted; a record without one (MLRun's serving) has its requests counted
    again on the endpoint, the one case a parked copy counts twice (docs/pipeline.md). Its samples and TSDB
    rows are keyed by its first position, so they are not doubled either way."""
    first = _record(0, record_id)
    fn.send(first, offset=1)
    fn.send(_record(10), offset=2)
    fn.send(_parked(first, (0, 1)), offset=3)
    assert _stored(fn) == (counted, 20, 20, 20)


def test_the_windows_a_parked_copy_belongs_to_are_analysed_again(fn):
    """Later records moved the watermark past the copy's requests, so its windows may have been analysed
    without them: the copy sets the endpoint's apps back to its first request (never forward)."""
    fn.send(_record(10), offset=2)
    registry = AppRegistry(fn.backend.kv, fn.paths, 10)
    registry.register("late-app", "modelmon.apps.builtin.data_quality:DataQualityApplication")
    registry.register("fresh-app", "modelmon.apps.builtin.data_quality:DataQualityApplication")
    table = fn.paths.schedules_table
    analysed_to, not_yet = T0 + 3_600_000, floor_to(T0, 600_000) - 600_000
    for app, last in (("late-app", analysed_to), ("fresh-app", not_yet)):
        fn.backend.kv.put(table, schedule_key(EP, app), {"endpoint_id": EP, "app_name": app,
                                                         "last_analyzed_ms": last, "claim_id": ""})
    fn.send(_parked(_record(0), (0, 1)), offset=3)
    assert fn.backend.kv.get(table, schedule_key(EP, "late-app"))["last_analyzed_ms"] == floor_to(T0, 600_000)
    assert fn.backend.kv.get(table, schedule_key(EP, "fresh-app"))["last_analyzed_ms"] == not_yet
