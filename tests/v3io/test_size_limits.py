"""V3IO's PutRecords size limits on the test server, the backend and the dead-letter writer (issue 20).

The server refuses what the platform documents it refuses; the backend never sends it (a record too large
is a :class:`RecordTooLarge` before anything goes out); a partly failed put stores nothing twice; and a
dead letter of a large payload always fits.
"""

from __future__ import annotations

import hashlib
import json

import pytest
import v3io.dataplane
from v3io.dataplane import RaiseForStatus
from v3io_server.stack import ACCESS_KEY

from modelmon.backends.base import MAX_RECORD_BYTES, OutRecord, PutIncomplete, RecordTooLarge, SeekTo
from modelmon.backends.local import open_local_backend
from modelmon.core.errors import BackendUnavailable
from modelmon.events import DeadLetter
from modelmon.functions.dead_letters import DeadLetters
from modelmon.testing import stream_records

STREAM = "projects/p/model-endpoints/stream"
LETTERS = "projects/p/model-endpoints/stream-dead-letter"


@pytest.fixture
def client(servers):
    c = v3io.dataplane.Client(endpoint=servers[0].url, access_key=ACCESS_KEY)
    yield c
    c.close()


@pytest.fixture(params=["local", "v3io"])
def either(request, tmp_path):
    """Each backend: the local one, or v3io on the test servers."""
    if request.param == "local":
        opened = open_local_backend(str(tmp_path / "home"))
        yield opened
        opened.close()
    else:
        yield request.getfixturevalue("backend")


def _shard(streams, path, shard=0):
    return streams.read(path, shard, streams.seek(path, shard, SeekTo.EARLIEST), limit=10_000)


# ------------------------------------------------------------------------------------ the test server


def test_server_fails_a_record_over_1_mb_on_its_own_and_stores_the_others(servers, client):
    client.stream.create("projects", "s", shard_count=1)
    out = client.stream.put_records("projects", "s", [{"data": b"a"}, {"data": b"x" * (MAX_RECORD_BYTES + 1)},
                                                      {"data": b"x" * MAX_RECORD_BYTES}]).output
    assert out.failed_record_count == 1
    assert [r.error_code for r in out.records] == [None, -22, None]
    assert "1,048,577 bytes is over the limit of 1,048,576" in out.records[1].error_message
    assert [r.sequence_number for r in out.records] == [1, None, 2]


def test_server_can_refuse_the_whole_request_for_an_oversize_record(servers, client):
    web, _ = servers
    web.answer_oversize("request")
    client.stream.create("projects", "s", shard_count=1)
    response = client.stream.put_records("projects", "s", [{"data": b"a"}, {"data": b"x" * (MAX_RECORD_BYTES + 1)}],
                                         raise_for_status=RaiseForStatus.never)
    assert response.status_code == 400 and json.loads(response.body)["ErrorCode"] == -22
    assert web.store.streams["projects/s"].shards[0].records == []


def test_server_refuses_a_body_over_10_mb_and_more_than_1000_records(servers, client):
    client.stream.create("projects", "s", shard_count=1)
    big = client.stream.put_records("projects", "s", [{"data": b"x" * 1_000_000}] * 8,  # ~10.7 MB as base64
                                    raise_for_status=RaiseForStatus.never)
    assert big.status_code == 413 and "over the limit of 10,485,760 bytes" in json.loads(big.body)["ErrorMessage"]
    many = client.stream.put_records("projects", "s", [{"data": b"x"}] * 1001, raise_for_status=RaiseForStatus.never)
    assert many.status_code == 400
    assert servers[0].store.streams["projects/s"].shards[0].records == []


def test_partition_key_over_256_bytes_fails_its_record(client):
    client.stream.create("projects", "s", shard_count=1)
    out = client.stream.put_records("projects", "s", [{"data": b"a", "partition_key": "k" * 257}]).output
    assert out.records[0].error_code == -22 and "partition key of 257 bytes" in out.records[0].error_message


# ------------------------------------------------------------------------------------ the backend


@pytest.mark.parametrize("shape", ["record", "request"])
def test_the_backend_never_sends_a_record_the_platform_refuses(servers, backend, shape):
    web, _ = servers
    web.answer_oversize(shape)
    backend.streams.create(STREAM)
    sent = len(web.put_requests)
    with pytest.raises(RecordTooLarge, match="1,048,577 bytes"):
        backend.streams.put_records(STREAM, [OutRecord(b"ok"), OutRecord(b"x" * (MAX_RECORD_BYTES + 1))])
    assert len(web.put_requests) == sent  # refused before any request: retrying could never help


def test_a_partly_failed_put_sends_again_only_the_refused_records(servers, backend):
    web, _ = servers
    backend.streams.create(STREAM)
    web.throttle_records(b"rec-3", times=2)
    web.throttle_records(b"rec-7", times=1)
    placed = backend.streams.put_records(STREAM, [OutRecord(b"rec-%d" % i) for i in range(10)])
    assert web.put_requests == [10, 2, 1]  # the whole request, then only what it refused, twice
    rows = _shard(backend.streams, STREAM)
    assert sorted(r.data for r in rows) == sorted(b"rec-%d" % i for i in range(10))  # each stored once
    assert [rows[seq - 1].data for _, seq in placed] == [b"rec-%d" % i for i in range(10)]
    assert [r.data for r in rows][-2:] == [b"rec-7", b"rec-3"]  # order per shard holds only without failures


def test_a_put_still_failing_says_what_was_stored_and_the_rest_is_sent_alone(servers, backend):
    web, _ = servers
    backend.streams.create(STREAM, shards=2)
    records = [OutRecord(b"rec-%d" % i + b"." * 700_000, partition_key=f"k{i % 2}") for i in range(30)]
    web.throttle_records(b"rec-17.", times=100)  # outlasts every retry
    with pytest.raises(PutIncomplete, match="21 of 30 records stored") as failure:
        backend.streams.put_records(STREAM, records)
    assert web.put_requests[:2] == [11, 11]  # 11 records of ~0.93 MB base64 per 10 MB request
    assert isinstance(failure.value, BackendUnavailable)  # the cause was an outage: try again later
    # the second request stored all but rec-17; the third was never sent (a request waits for the one before)
    assert [i for i, p in enumerate(failure.value.placed) if p is None] == [17, *range(22, 30)]
    web.faults.records.throttle.clear()
    assert len(backend.streams.put_records(STREAM, failure.value.unsent(records))) == 9
    stored = [r.data[:7] for shard in (0, 1) for r in _shard(backend.streams, STREAM, shard)]
    assert sorted(stored) == sorted(r.data[:7] for r in records)  # nothing stored twice


# ------------------------------------------------------------------------------------ dead letters


def test_a_dead_letter_of_a_0_9_mb_record_is_written_with_an_excerpt_and_a_digest(either):
    payload = json.dumps({"inputs": [['quote"d', "\u00e9t\u00e9"] * 40_000]}).encode()[:900_000]
    assert len(payload) == 900_000
    assert len(json.dumps(payload.decode(errors="ignore"))) > MAX_RECORD_BYTES  # escaped, it would not fit
    DeadLetters(either.streams, LETTERS, "model-monitoring-stream", source=STREAM).reject(
        "InvalidEvent: too wide", payload, (0, 41))
    (record,) = stream_records(either.streams, LETTERS)
    assert len(record.data) <= MAX_RECORD_BYTES
    letter = DeadLetter.from_body(record.data)
    assert letter.truncated and letter.payload_size == 900_000
    assert letter.payload_sha256 == hashlib.sha256(payload).hexdigest()
    assert payload.startswith(letter.payload) and len(letter.payload) > 60_000
    assert (letter.reason, letter.shard, letter.sequence, letter.source) == ("InvalidEvent: too wide", 0, 41, STREAM)


def test_a_letter_that_fits_and_an_older_letter_read_as_before():
    letter = DeadLetter(source="s", reason="bad", payload=b'{"a": 1}', time_ms=5, shard=1, sequence=2)
    body = json.loads(letter.to_body())
    assert "payload_sha256" not in body and DeadLetter.from_body(letter.to_body()) == letter
    older = {"kind": "dead-letter", "schema": 1, "source": "s", "reason": "r", "payload": "x", "time_ms": 1}
    read = DeadLetter.from_body(older)
    assert (read.payload, read.truncated, read.payload_size, read.function) == (b"x", False, None, "")
    binary = DeadLetter(source="s", reason="r" * 2_000_000, payload=bytes(range(256)) * 4000, time_ms=1)
    small = DeadLetter.from_body(binary.to_body())  # base64 payload and a reason too long: both cut
    assert small.truncated and small.payload == binary.payload[:len(small.payload)]
    assert len(binary.to_body()) <= MAX_RECORD_BYTES and small.reason.endswith("(2,000,000 characters in all)")


def test_letters_of_a_partly_stored_write_are_not_stored_twice_when_it_is_tried_again(servers, backend):
    web, _ = servers
    letters = DeadLetters(backend.streams, LETTERS, "model-monitoring-stream", source=STREAM)
    backend.streams.create(LETTERS)
    rejected = [(f"bad request {i}", b'{"id": "req-%d"}' % i) for i in range(4)]
    web.throttle_records(b"req-2", times=100)
    with pytest.raises(PutIncomplete):
        letters.reject_all(rejected, (0, 9))
    web.faults.records.throttle.clear()
    letters.reject_all(rejected, (0, 9))  # the caller (HandlerRetry) tries the record again
    reasons = [DeadLetter.from_body(r.data).reason for r in stream_records(backend.streams, LETTERS)]
    assert sorted(reasons) == [f"bad request {i}" for i in range(4)]
    letters.reject_all(rejected[:1], (0, 9))  # a later rejection of the same record is a new letter
    assert len(stream_records(backend.streams, LETTERS)) == 5


def test_a_producer_dead_letters_a_record_too_large_and_puts_the_rest(either):
    either.streams.create(STREAM)
    letters = DeadLetters(either.streams, LETTERS, "model-monitoring-controller")
    placed = letters.put_or_reject(STREAM, [OutRecord(b"w1"), OutRecord(b"x" * (MAX_RECORD_BYTES + 5)),
                                            OutRecord(b"w2")])
    assert placed[1] is None and [r.data for r in stream_records(either.streams, STREAM)] == [b"w1", b"w2"]
    (letter,) = [DeadLetter.from_body(r.data) for r in stream_records(either.streams, LETTERS)]
    assert "1,048,581 bytes of data is over the limit of 1,048,576" in letter.reason
    assert letter.truncated and letter.payload_size == MAX_RECORD_BYTES + 5 and letter.source == STREAM
