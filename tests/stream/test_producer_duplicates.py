"""A record the producer stored twice (a re-sent PutRecords) is ingested and counted once, by its record_id."""

from __future__ import annotations

import json
import time

from ingest_fixtures import StreamFunction, batched, entry

from modelmon.core.errors import BackendUnavailable
from modelmon.core.timeutil import to_ms
from modelmon.endpoints import store
from modelmon.stream import read_predictions
from modelmon.testing import stream_records
from modelmon.tracking import TrackedModel, TrackingClient

T0 = to_ms("2024-03-01 12:00:00")


def _record(endpoint_id: str, start: int, record_id: str | None, n: int = 20) -> dict:
    entries = [entry(start + i, [float(i), 2.0 * i], [i % 2], T0 + (start + i) * 1000, 100) for i in range(n)]
    entries.append({"request": {"id": f"e{start}", "inputs": [[0.0, 0.0]]}, "when": T0 + start, "error": "boom"})
    body = batched(entries, endpoint_id=endpoint_id)
    if record_id is not None:
        body["record_id"] = record_id
    return body


def _state(fn, endpoint_id: str) -> tuple:
    ep = fn.endpoint(endpoint_id)
    rows = fn.samples(endpoint_id)
    predictions = read_predictions(fn.backend.tsdb, fn.paths.predictions_tsdb, endpoint_id, 0, 2**62)
    errors = fn.tsdb(fn.paths.errors_tsdb)
    errors = errors[errors["endpoint_id"] == endpoint_id]
    return (ep.request_count, ep.error_count, ep.latency_sum_us, len(rows), rows["request_id"].nunique(),
            int(predictions["count"].sum()), int(errors["count"].sum()))


def test_same_record_at_two_offsets_is_stored_and_counted_once(fn):
    first = _record("ep-dup", 0, "rec-a")
    fn.send(first, offset=1)
    fn.send(_record("ep-dup", 20, "rec-b"), offset=2)  # another producer's record between the two copies
    once = _state(fn, "ep-dup")
    assert once == (40, 2, 4000.0, 40, 40, 40, 2)

    report = fn.send(first, offset=3)  # the copy the re-sent PutRecords stored
    assert (report["duplicates"], report["requests"], report["rows"]) == (1, 0, 0)
    assert _state(fn, "ep-dup") == once
    item = fn.item("ep-dup")
    assert json.loads(item["ingest_recent_records"]) == ["rec-a", "rec-b"]
    assert item["ingest_seq_0"] == 2  # the skipped copy is not applied, not even its position

    fn.send(_record("ep-dup", 40, "rec-c"), offset=4)  # later records still count
    assert _state(fn, "ep-dup")[0] == 60


def test_copy_arriving_after_a_restart_is_still_recognised(fn, home):
    body = _record("ep-restart", 0, "rec-1")
    fn.send(body, shard=1, offset=5)
    once = _state(fn, "ep-restart")
    fn.close()  # a new process: empty cache, record ids read back from the endpoint record

    restarted = StreamFunction(home)
    try:
        assert restarted.send(body, shard=1, offset=6)["duplicates"] == 1
        assert _state(restarted, "ep-restart") == once
    finally:
        restarted.close()


def test_rows_of_a_record_id_are_keyed_by_it(fn, home):
    """A crash after the samples and TSDB rows of the first copy: the second copy rewrites the same rows."""
    body = _record("ep-key", 0, "rec-k")
    fn.send(body, offset=1)
    tsdb = fn.tsdb(fn.paths.predictions_tsdb)
    assert set(tsdb["batch_id"]) == {"rrec-k"}
    fn.backend.kv.update(fn.paths.endpoints_table, "ep-key", {"ingest_recent_records": "[]"})  # as if never counted
    fn.close()
    restarted = StreamFunction(home)
    try:
        restarted.send(body, offset=2)  # counted (its id was forgotten) but its rows replace their own
        rows = restarted.samples("ep-key")
        assert (len(rows), rows["request_id"].nunique()) == (20, 20)
        stored = read_predictions(restarted.backend.tsdb, restarted.paths.predictions_tsdb, "ep-key", 0, 2**62)
        assert int(stored["count"].sum()) == 20
    finally:
        restarted.close()


def test_records_without_record_id_keep_position_identity(fn):
    """MLRun's serving sends no record_id: each position is its own record, as before."""
    body = _record("ep-mlrun", 0, None)
    fn.send(body, offset=1)
    fn.send(body, offset=2)
    assert _state(fn, "ep-mlrun") == (40, 2, 4000.0, 40, 20, 40, 2)  # two records: stored and counted twice
    assert set(fn.tsdb(fn.paths.predictions_tsdb)["batch_id"]) == {"s0-1", "s0-2"}
    assert "ingest_recent_records" not in fn.item("ep-mlrun")
    assert fn.send(body, offset=2)["duplicates"] == 1  # redelivery at the same position is still skipped


def test_recent_record_ids_are_bounded(fn, monkeypatch):
    monkeypatch.setattr(store, "RECENT_RECORDS", 3)
    for k in range(5):
        fn.send(_record("ep-bound", 10 * k, f"rec-{k}", n=2), offset=k + 1)
    assert json.loads(fn.item("ep-bound")["ingest_recent_records"]) == ["rec-2", "rec-3", "rec-4"]
    assert fn.send(_record("ep-bound", 40, "rec-4", n=2), offset=6)["duplicates"] == 1
    assert fn.send(_record("ep-bound", 0, "rec-0", n=2), offset=7)["duplicates"] == 0  # forgotten: the limit


def test_unreadable_record_id_is_dead_lettered(fn):
    report = fn.send(_record("ep-bad", 0, "../x"), offset=1)
    assert (report["rejected"], report["requests"]) == (1, 0)
    [letter] = fn.dead_letters()
    assert "record_id '../x'" in letter.reason


def test_dead_lettered_request_replays_under_its_own_id(fn):
    body = _record("ep-dl", 0, "rec-dl", n=3)
    body["values"][1][0]["inputs"] = [[1.0, 2.0, 3.0]]  # one feature too many
    assert fn.send(body, offset=1)["rejected"] == 1
    [letter] = fn.dead_letters()
    replay = json.loads(letter.payload)
    assert replay["record_id"] == "rec-dl.1"  # not the original id: that record was counted
    replay["values"][0][0]["inputs"] = [[1.0, 2.0]]
    assert fn.send(replay, offset=2)["requests"] == 1
    assert fn.send(replay, offset=3)["duplicates"] == 1  # replayed twice: counted once
    assert fn.endpoint("ep-dl").request_count == 3


class LostAnswerStream:
    """The local stream whose first put is applied but answered with a dropped connection."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.lost = 1

    def put_records(self, path, records):
        self.inner.put_records(path, records)
        if self.lost:
            self.lost -= 1
            raise BackendUnavailable("connection dropped after the put was applied (test)")

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_tracking_client_retry_stored_twice_counts_once(fn):
    streams = LostAnswerStream(fn.backend.streams)
    client = TrackingClient(streams, fn.paths.tracking_stream,
                            TrackedModel(model="churn", function_uri="proj/serving", endpoint_id="ep-e2e"),
                            batch_size=4, max_delay_s=0.05, max_backoff_s=0.05)
    start_ns = time.time_ns()
    for i in range(12):
        client.record(f"q{i}", [[float(i), 1.0]], [i % 2], start_ns + i * 1_000_000, 50)
    assert client.flush(timeout=10)
    client.close()
    records = stream_records(fn.backend.streams, fn.paths.tracking_stream)
    ids = [json.loads(r.data)["record_id"] for r in records]
    assert len(records) == 4 and ids[0] == ids[1] and len(set(ids)) == 3  # the first record is stored twice

    reports = [fn.send(r.data, shard=r.shard, offset=r.sequence) for r in records]
    assert [r["duplicates"] for r in reports] == [0, 1, 0, 0]
    ep = fn.endpoint("ep-e2e")
    assert (ep.request_count, ep.latency_sum_us) == (12, 600.0)
    rows = fn.samples("ep-e2e")
    assert sorted(rows["request_id"]) == sorted(f"q{i}" for i in range(12))
    stored = read_predictions(fn.backend.tsdb, fn.paths.predictions_tsdb, "ep-e2e", 0, 2**62)
    assert int(stored["count"].sum()) == 12
