"""The Nuclio glue every function shares: an event's records, their bytes and positions, and dead letters."""

from __future__ import annotations

import threading

import nuclio_sdk

from modelmon.core.paths import deployed_name, function_name
from modelmon.events import DeadLetter
from modelmon.functions.dead_letters import DeadLetters
from modelmon.functions.handling import Delivery, body_bytes, each_record
from modelmon.testing import ManualClock, MemoryStream, stream_records

DEAD = "projects/p/model-endpoints/stream-dead-letter"


def test_each_record_walks_one_event_or_a_batch_with_positions():
    one = nuclio_sdk.Event(body=b"a", shard_id=2, offset=9)
    assert list(each_record(one)) == [Delivery(b"a", (2, 9))]
    batch = [one, nuclio_sdk.Event(body={"b": 1}, shard_id=2, offset=10), nuclio_sdk.Event(body="c")]
    assert list(each_record(batch)) == [Delivery(b"a", (2, 9)), Delivery(b'{"b":1}', (2, 10)), Delivery(b"c")]


def test_body_bytes_of_decoded_json_is_stable_and_tolerates_what_json_cannot_hold():
    assert body_bytes({"b": 1, "a": 2}) == body_bytes({"a": 2, "b": 1}) == b'{"a":2,"b":1}'
    assert body_bytes(bytearray(b"x")) == b"x" and body_bytes({"s": {1}}) == b'{"s":"{1}"}'


def test_a_rejected_body_keeps_its_position_reason_and_function():
    streams, clock = MemoryStream(), ManualClock(1_000)
    letters = DeadLetters(streams, DEAD, "model-monitoring-writer", source="writer-stream", clock=clock)
    letters.reject("not a writer event", {"x": 1}, (0, 7))
    letters.reject_all([("bad row", b"r1"), ("bad row", b"r2")], key="ep-1")
    first, *rest = [DeadLetter.from_body(r.data) for r in stream_records(streams, DEAD)]
    assert first == DeadLetter(source="writer-stream", reason="not a writer event", payload=b'{"x":1}',
                               time_ms=1_000, shard=0, sequence=7, function="model-monitoring-writer")
    assert [(r.payload, r.shard) for r in rest] == [(b"r1", None), (b"r2", None)]


def test_workers_sharing_the_writer_create_the_stream_once():
    created = []

    class Counting(MemoryStream):
        def create(self, path: str, shards: int = 1, retention_hours: int = 24) -> bool:
            created.append(path)
            return super().create(path, shards, retention_hours)

    streams = Counting()
    letters = DeadLetters(streams, DEAD, "f")
    threads = [threading.Thread(target=letters.reject, args=("r", b"x")) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert created == [DEAD] and len(stream_records(streams, DEAD)) == 8


def test_letters_name_a_function_as_its_bundle_does_not_as_deployed():
    assert function_name("fraud-model-monitoring-stream", "fraud") == "model-monitoring-stream"
    assert function_name("My-Proj-rowcount", None) == "My-Proj-rowcount"
    assert function_name("my-proj-rowcount", "My_Proj") == "rowcount"
    assert function_name("consumer", "test") == "consumer"
    for project, function in (("fraud", "model-monitoring-writer"), ("a_b", "rowcount"), ("X", "labels")):
        assert function_name(deployed_name(project, function), project) == function  # deploy's rule, inverted
