"""The v3io backend under faults injected by the protocol servers: 503s, dropped connections, restarts."""

from __future__ import annotations

import collections
import socket

import pandas as pd
import pytest
from v3io_server.stack import TEST_RETRY, V3ioOpener, running_servers

from modelmon.backends.base import Cond, OutRecord, SeekTo
from modelmon.backends.v3io import RetryPolicy, open_v3io_backend
from modelmon.core.errors import BackendUnavailable

STREAM = "projects/p/model-endpoints/stream"
TABLE = "users/pipelines/p/monitoring-apps/app-results"


@pytest.fixture
def servers():
    with running_servers() as pair:
        yield pair


def _opener(servers) -> V3ioOpener:
    web, frames = servers
    return V3ioOpener(api=web.url, framesd=frames.address, port=web.port)


@pytest.fixture
def backend(servers):
    b = _opener(servers)()
    yield b
    b.close()


def _all(streams, path, shards):
    out = {}
    for shard in range(shards):
        out[shard] = streams.read(path, shard, streams.seek(path, shard, SeekTo.EARLIEST), limit=100_000)
    return out


def test_503s_are_retried_and_the_item_is_written_once(servers, backend):
    web, _ = servers
    backend.kv.put(TABLE, "k", {"n": 0})
    web.fail_next(3)
    before = web.request_count
    assert backend.kv.update(TABLE, "k", increment={"n": 1}) is True
    assert web.request_count - before == 4  # three 503s, then the update
    assert backend.kv.get(TABLE, "k") == {"n": 1}  # a 503 is answered before anything is applied


def test_retries_are_bounded_and_end_in_backend_unavailable(servers):
    web, _ = servers
    settings = _opener(servers).settings()
    b = open_v3io_backend(settings, retry=RetryPolicy(attempts=3, base_s=0.001, cap_s=0.002))
    web.fail_next(10)
    with pytest.raises(BackendUnavailable, match=r"after 3 tries.*HTTP 503"):
        b.kv.get(TABLE, "k")
    assert web.faults.fail == [(503, -11)] * 7  # exactly three requests were spent
    b.close()


def test_connections_dropped_mid_batch_lose_and_duplicate_nothing(servers, backend):
    web, _ = servers
    backend.streams.create(STREAM, shards=3)
    records = [OutRecord(f"r{i}".encode(), partition_key=f"k{i % 7}") for i in range(2500)]  # 3 PutRecords
    calls_before = web.request_count
    web.drop_next(3, when="before")  # more than the client's own single resend
    placed = backend.streams.put_records(STREAM, records)
    assert len(placed) == 2500
    assert web.request_count - calls_before >= 3 + 3
    got = _all(backend.streams, STREAM, 3)
    data = [r.data for shard in got.values() for r in shard]
    assert sorted(data) == sorted(r.data for r in records)
    for shard, rows in got.items():
        assert [r.sequence for r in rows] == list(range(1, len(rows) + 1)), f"gap in shard {shard}"
    by_key = collections.defaultdict(set)
    for shard, rows in got.items():
        for r in rows:
            by_key[int(r.data[1:]) % 7].add(shard)
    assert all(len(shards) == 1 for shards in by_key.values())  # partition keys still route to one shard


def test_throttled_records_are_sent_again_without_duplicates(servers, backend):
    web, _ = servers
    backend.streams.create(STREAM, shards=1)
    web.reject_records({0, 5, 9})
    placed = backend.streams.put_records(STREAM, [OutRecord(str(i).encode(), shard=0) for i in range(10)])
    rows = backend.streams.read(STREAM, 0, 1)
    assert sorted(int(r.data) for r in rows) == list(range(10))
    assert sorted(seq for _, seq in placed) == list(range(1, 11))
    assert [int(rows[seq - 1].data) for _, seq in placed] == list(range(10))  # positions match the records


def test_restart_between_calls_keeps_records_items_offsets_and_tables(servers, backend):
    web, frames = servers
    backend.streams.create(STREAM, shards=2)
    backend.streams.put_records(STREAM, [OutRecord(b"a", shard=0), OutRecord(b"b", shard=1)])
    backend.streams.commit(STREAM, "writer", 0, 2)
    backend.kv.put(TABLE, "k", {"v": 1})
    backend.tsdb.create_table("users/pipelines/p/tsdb")
    backend.tsdb.write("users/pipelines/p/tsdb", pd.DataFrame({"time": [1000], "e": ["x"], "v": [2.0]}), ["e"])
    web.restart()
    frames.restart()
    backend.streams.put_records(STREAM, [OutRecord(b"c", shard=0)])  # old keep-alive sockets are dead
    assert [(r.sequence, r.data) for r in backend.streams.read(STREAM, 0, 1)] == [(1, b"a"), (2, b"c")]
    assert backend.streams.committed(STREAM, "writer", 0) == 2
    assert backend.kv.update(TABLE, "k", {"v": 2}, condition=[Cond.eq("v", 1)]) is True
    assert backend.kv.get(TABLE, "k") == {"v": 2}
    got = backend.tsdb.read("users/pipelines/p/tsdb", 0, 2000)
    assert got[["time", "e", "v"]].values.tolist() == [[1000, "x", 2.0]]


def test_server_down_during_a_call_then_back(servers, backend):
    web, _ = servers
    backend.kv.put(TABLE, "k", {"v": 1})
    web.stop()
    with pytest.raises(BackendUnavailable, match="ConnectionRefusedError"):
        backend.kv.get(TABLE, "k")
    web.start()
    assert backend.kv.get(TABLE, "k") == {"v": 1}


def test_a_put_whose_answer_was_lost_is_safely_repeated(servers, backend):
    web, _ = servers
    web.drop_next(3, when="after")  # applied, but the client never hears back
    backend.kv.put(TABLE, "k", {"v": 1, "s": "x"})
    assert backend.kv.get(TABLE, "k") == {"v": 1, "s": "x"}


def test_frames_unavailable_create_is_retried_and_a_failed_write_is_written_again(servers, backend):
    _, frames = servers
    frames.fail_next(2)
    backend.tsdb.create_table("users/pipelines/p/tsdb2")  # the frames client retries UNAVAILABLE itself
    table = "users/pipelines/p/tsdb2"
    rows = pd.DataFrame({"time": [5, 6], "e": ["x", "x"], "v": [1.0, 2.0]})
    frames.fail_next(1)
    # the client's retry of a streamed Write re-sends an exhausted request stream, which the server refuses;
    # the backend writes again (writes are idempotent)
    calls = frames.calls
    backend.tsdb.write(table, rows, ["e"])
    assert frames.calls - calls == 2  # UNAVAILABLE, then the backend's second write (the empty re-send is refused)
    backend.tsdb.write(table, rows, ["e"])
    assert backend.tsdb.read(table, 0, 10)["v"].tolist() == [1.0, 2.0]


def test_frames_failing_for_longer_than_the_retries_is_reported_and_nothing_half_written(servers, backend):
    _, frames = servers
    table = "users/pipelines/p/tsdb3"
    backend.tsdb.create_table(table)
    frames.fail_next(100)
    with pytest.raises(BackendUnavailable, match=r"write request .*taken as an outage"):  # the handler waits
        backend.tsdb.write(table, pd.DataFrame({"time": [5], "e": ["x"], "v": [1.0]}), ["e"])
    assert frames.failures == 100 - TEST_RETRY.attempts  # one failed Write per try, then given up
    with pytest.raises(BackendUnavailable, match="restarting"):
        backend.tsdb.read(table, 0, 10)  # reads are retried on UNAVAILABLE, as long as the policy allows
    frames.failures = 0
    assert backend.tsdb.read(table, 0, 10).empty


def test_a_read_that_never_answers_is_given_up_and_retried_on_a_fresh_client(servers):
    _, frames = servers
    settings = _opener(servers).settings()
    b = open_v3io_backend(settings, retry=RetryPolicy(attempts=3, base_s=0.01, cap_s=0.02), tsdb_read_deadline_s=1)
    try:
        table = "users/pipelines/p/monitoring-apps/results-tsdb"
        b.tsdb.create_table(table)
        b.tsdb.write(table, pd.DataFrame({"time": [60_000], "endpoint_id": ["e"], "value": [0.5]}),
                     labels=["endpoint_id"])
        frames.stall_next_reads(1)  # the first read's stream stays open and silent
        rows = b.tsdb.read(table, 0, 120_000)
        assert rows[["time", "endpoint_id", "value"]].to_dict("records") == [
            {"time": 60_000, "endpoint_id": "e", "value": 0.5}]
        assert frames.stalls == 0
        frames.stall_next_reads(5)  # never answering: the retries run out, as for an unreachable framesd
        with pytest.raises(BackendUnavailable, match="no answer in 1s"):
            b.tsdb.read(table, 0, 120_000)
    finally:
        b.close()


def test_a_put_cut_off_mid_body_stores_no_object(servers, backend):
    """A writer killed while sending leaves nothing behind, not an empty or truncated object."""
    web, _ = servers
    backend.objects.put_object("users/o/whole.bin", b"x" * 100)
    with socket.create_connection(("127.0.0.1", web.port)) as sock:
        sock.sendall(b"PUT /users/o/cut.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"y" * 10)
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(1024) == b""  # closed without an answer
    assert backend.objects.list_objects("users/o/") == ["users/o/whole.bin"]
