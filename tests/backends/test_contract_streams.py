"""Stream contract: ordering per shard, routing, seeks, consumer groups, retention, errors."""

from __future__ import annotations

import pytest
from kafka_streams_backend import kafka_backend
from registry import BACKENDS

from modelmon.backends.base import (
    MAX_PARTITION_KEY_BYTES,
    MAX_PUT_BYTES,
    MAX_RECORD_BYTES,
    OutRecord,
    PutIncomplete,
    RecordTooLarge,
    SeekTo,
    StreamInfo,
)
from modelmon.backends.local import open_local_backend
from modelmon.backends.local.streams import LocalStream
from modelmon.core.errors import BackendUnavailable, NotFound

PATH = "projects/p/model-endpoints/stream"
HOUR = 3_600_000
#: The stream contract also holds for Kafka streams, a backend of the Stream role only (its other roles are
#: the local backend's, tested there).
STREAM_BACKENDS = {**BACKENDS, "kafka": kafka_backend}


#: Contract tests that cannot hold on a backend by its nature (``conftest.pytest_collection_modifyitems``
#: leaves these parameters out; they still run on every other backend).
EXCLUDED_BACKENDS: dict[str, dict[str, str]] = {}  # none today: every stream test runs on Kafka too


@pytest.fixture(params=sorted(STREAM_BACKENDS))
def opener(request, tmp_path):
    """Opens the backend under test; here every backend of ``registry.BACKENDS`` and Kafka streams."""
    with STREAM_BACKENDS[request.param](tmp_path) as open_backend:
        yield open_backend


def _read_all(streams, path, shard, start=1):
    out, seq = [], start
    while True:
        page = streams.read(path, shard, seq, limit=7)
        if not page:
            return out
        out.extend(page)
        seq = page[-1].sequence + 1


def test_create_is_idempotent_and_describe_reports_it(backend):
    assert backend.streams.create(PATH, shards=3, retention_hours=5) is True
    assert backend.streams.create(PATH, shards=1, retention_hours=1) is False
    assert backend.streams.describe(PATH) == StreamInfo(shards=3, retention_hours=5)


@pytest.mark.parametrize("call", ["describe", "put", "read", "seek", "commit", "committed"])
def test_missing_stream_is_not_found(backend, call):
    s = backend.streams
    calls = {
        "describe": lambda: s.describe("nope"),
        "put": lambda: s.put_records("nope", [OutRecord(b"x", shard=0)]),
        "read": lambda: s.read("nope", 0, 1),
        "seek": lambda: s.seek("nope", 0, SeekTo.EARLIEST),
        "commit": lambda: s.commit("nope", "g", 0, 1),
        "committed": lambda: s.committed("nope", "g", 0),
    }
    with pytest.raises(NotFound, match="nope"):
        calls[call]()


def test_records_keep_put_order_per_shard_with_sequences_from_one(backend):
    s = backend.streams
    s.create(PATH, shards=2)
    first = s.put_records(PATH, [OutRecord(b"a0", shard=0), OutRecord(b"b0", shard=1), OutRecord(b"a1", shard=0)])
    second = s.put_records(PATH, [OutRecord(b"a2", shard=0), OutRecord(b"b1", shard=1)])
    assert first == [(0, 1), (1, 1), (0, 2)]
    assert second == [(0, 3), (1, 2)]
    shard0 = _read_all(s, PATH, 0)
    assert [(r.sequence, r.data, r.shard) for r in shard0] == [(1, b"a0", 0), (2, b"a1", 0), (3, b"a2", 0)]
    assert [r.data for r in _read_all(s, PATH, 1)] == [b"b0", b"b1"]


def test_read_starts_mid_batch_and_honours_limit(backend):
    s = backend.streams
    s.create(PATH)
    s.put_records(PATH, [OutRecord(str(i).encode(), partition_key="k") for i in range(10)])
    page = s.read(PATH, 0, 4, limit=3)
    assert [(r.sequence, r.data, r.partition_key) for r in page] == [(4, b"3", "k"), (5, b"4", "k"), (6, b"5", "k")]
    assert s.read(PATH, 0, 11) == []


def test_partition_key_routes_to_the_same_shard_every_time(opener, clock):
    keys = [f"endpoint-{i}" for i in range(40)]
    first = opener(clock=clock)
    first.streams.create(PATH, shards=4)
    routes = {k: shard for k, (shard, _) in zip(keys, first.streams.put_records(
        PATH, [OutRecord(b"x", partition_key=k) for k in keys]), strict=True)}
    again = first.streams.put_records(PATH, [OutRecord(b"y", partition_key=k) for k in reversed(keys)])
    first.close()
    reopened = opener(clock=clock)
    later = reopened.streams.put_records(PATH, [OutRecord(b"z", partition_key=k) for k in keys])
    reopened.close()
    assert [shard for shard, _ in again] == [routes[k] for k in reversed(keys)]
    assert [shard for shard, _ in later] == [routes[k] for k in keys]
    assert len(set(routes.values())) >= 3  # 40 keys over 4 shards: the hash spreads them


def test_explicit_shard_wins_and_bad_shard_is_rejected(backend):
    s = backend.streams
    s.create(PATH, shards=2)
    assert s.put_records(PATH, [OutRecord(b"x", partition_key="any", shard=1)]) == [(1, 1)]
    with pytest.raises(ValueError, match="shard"):
        s.put_records(PATH, [OutRecord(b"ok", shard=0), OutRecord(b"bad", shard=2)])
    assert s.read(PATH, 0, 1) == []  # all or nothing: the good record of the failed put is not there


def test_seek_variants(backend, clock):
    s = backend.streams
    s.create(PATH)
    s.put_records(PATH, [OutRecord(b"a"), OutRecord(b"b")])  # arrive at t0
    t0 = clock.now
    clock.advance(1000)
    s.put_records(PATH, [OutRecord(b"c"), OutRecord(b"d")])  # arrive at t0 + 1000
    assert s.seek(PATH, 0, SeekTo.EARLIEST) == 1
    assert s.seek(PATH, 0, SeekTo.LATEST) == 5
    assert s.seek(PATH, 0, SeekTo.SEQUENCE, 3) == 3
    assert s.seek(PATH, 0, SeekTo.TIME, t0 + 1) == 3
    assert s.seek(PATH, 0, SeekTo.TIME, t0) == 1
    assert s.seek(PATH, 0, SeekTo.TIME, t0 + 5000) == 5  # nothing that late yet: the next record
    assert [r.data for r in s.read(PATH, 0, s.seek(PATH, 0, SeekTo.TIME, t0 + 1000))] == [b"c", b"d"]
    assert [r.arrival_ms for r in s.read(PATH, 0, 1)] == [t0, t0, t0 + 1000, t0 + 1000]
    with pytest.raises(ValueError, match="sequence"):
        s.seek(PATH, 0, SeekTo.SEQUENCE)


def test_seek_on_an_empty_shard_points_at_the_first_record_to_come(backend):
    s = backend.streams
    s.create(PATH)
    assert s.seek(PATH, 0, SeekTo.EARLIEST) == 1
    assert s.seek(PATH, 0, SeekTo.LATEST) == 1


def test_consumer_group_offset_survives_reopening_the_backend(opener, clock):
    first = opener(clock=clock)
    first.streams.create(PATH, shards=2)
    first.streams.put_records(PATH, [OutRecord(b"%d" % i, shard=1) for i in range(5)])
    assert first.streams.committed(PATH, "group-a", 1) is None
    first.streams.commit(PATH, "group-a", 1, 4)
    first.streams.commit(PATH, "group-b", 1, 2)
    first.close()

    second = opener(clock=clock)
    resume = second.streams.committed(PATH, "group-a", 1)
    assert resume == 4
    assert [r.data for r in second.streams.read(PATH, 1, resume)] == [b"3", b"4"]
    assert second.streams.committed(PATH, "group-b", 1) == 2
    assert second.streams.committed(PATH, "group-a", 0) is None
    second.streams.commit(PATH, "group-a", 1, 6)
    assert second.streams.committed(PATH, "group-a", 1) == 6
    second.close()


def test_retention_purges_expired_records(backend, clock):
    s = backend.streams
    s.create(PATH, retention_hours=1)
    s.put_records(PATH, [OutRecord(b"old1"), OutRecord(b"old2")])
    clock.advance(HOUR // 2)
    s.put_records(PATH, [OutRecord(b"mid")])
    clock.advance(HOUR // 2 + 1)  # the first batch is now older than the retention
    assert [r.data for r in s.read(PATH, 0, 1)] == [b"mid"]
    assert s.seek(PATH, 0, SeekTo.EARLIEST) == 3
    s.put_records(PATH, [OutRecord(b"new")])
    assert [(r.sequence, r.data) for r in s.read(PATH, 0, 1)] == [(3, b"mid"), (4, b"new")]
    clock.advance(2 * HOUR)
    assert s.read(PATH, 0, 1) == []
    assert s.seek(PATH, 0, SeekTo.EARLIEST) == 5  # sequences continue after a purge


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"shards": 0}, "shards"), ({"retention_hours": 0}, "retention")]
)
def test_create_rejects_bad_arguments(backend, kwargs, message):
    with pytest.raises(ValueError, match=message):
        backend.streams.create(PATH, **kwargs)


def test_large_batches_round_trip(backend):
    s = backend.streams
    s.create(PATH, shards=3)
    payloads = [bytes([i % 251]) * (i % 2000) for i in range(3000)]
    routed = s.put_records(PATH, [OutRecord(p, partition_key=f"k{i % 17}") for i, p in enumerate(payloads)])
    got = {(r.shard, r.sequence): r.data for shard in range(3) for r in _read_all(s, PATH, shard)}
    assert [got[pos] for pos in routed] == payloads


# ----------------------------------------------------------------------------- V3IO's PutRecords limits


def test_a_record_over_one_megabyte_is_refused_naming_its_size_and_the_limit(backend):
    s = backend.streams
    s.create(PATH)
    too_big = OutRecord(b"x" * (MAX_RECORD_BYTES + 1), partition_key="k")
    with pytest.raises(RecordTooLarge, match=r"record 1 has 1,048,577 bytes of data, over the limit of 1,048,576"):
        s.put_records(PATH, [OutRecord(b"small", partition_key="k"), too_big])
    assert isinstance(RecordTooLarge(PATH, 0, 1, 0), ValueError)
    assert s.read(PATH, 0, 1) == []  # refused before anything was sent: the small record is not there either
    exactly = OutRecord(bytes(range(256)) * (MAX_RECORD_BYTES // 256), partition_key="k")
    assert s.put_records(PATH, [exactly]) == [(0, 1)]
    assert s.read(PATH, 0, 1)[0].data == exactly.data


def test_a_partition_key_over_256_bytes_is_refused(backend):
    s = backend.streams
    s.create(PATH)
    with pytest.raises(RecordTooLarge, match="partition key"):
        s.put_records(PATH, [OutRecord(b"x", partition_key="é" * (MAX_PARTITION_KEY_BYTES // 2 + 1))])
    assert s.put_records(PATH, [OutRecord(b"x", partition_key="k" * MAX_PARTITION_KEY_BYTES)]) == [(0, 1)]


def test_a_put_larger_than_one_request_is_split_by_bytes_and_every_record_arrives_once(backend):
    s = backend.streams
    s.create(PATH, shards=2)
    big = MAX_RECORD_BYTES - 100
    count = MAX_PUT_BYTES // big * 2 + 3  # base64 makes each ~1.4 MB in a request: several requests
    records = [OutRecord(b"%04d" % i + bytes([i]) * big, partition_key=f"k{i % 3}") for i in range(count)]
    placed = s.put_records(PATH, records)
    got = {(r.shard, r.sequence): r.data for shard in range(2) for r in _read_all(s, PATH, shard)}
    assert len(got) == count
    assert [got[pos][:4] for pos in placed] == [b"%04d" % i for i in range(count)]


def test_local_put_failing_after_its_first_request_says_what_was_stored(tmp_path, monkeypatch):
    local = open_local_backend(str(tmp_path / "home"))
    local.streams.create(PATH)
    commit = LocalStream._put_request
    calls = []

    def second_fails(self, *args):
        calls.append(1)
        if len(calls) == 2:
            raise BackendUnavailable("database is locked (test)")
        return commit(self, *args)

    monkeypatch.setattr(LocalStream, "_put_request", second_fails)
    records = [OutRecord(b"%04d" % i) for i in range(2500)]  # three requests of at most 1,000
    with pytest.raises(PutIncomplete, match="1000 of 2500 records stored") as failure:
        local.streams.put_records(PATH, records)
    assert isinstance(failure.value, BackendUnavailable)
    monkeypatch.undo()
    local.streams.put_records(PATH, failure.value.unsent(records))
    assert [r.data for r in _read_all(local.streams, PATH, 0)] == [r.data for r in records]  # once each, in order
    local.close()
