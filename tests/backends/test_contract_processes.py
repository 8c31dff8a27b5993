"""Several processes on one backend: atomic compare-and-set, no lost writes, and SIGKILL mid-batch."""

from __future__ import annotations

import collections
import json
import multiprocessing
import os
import random
import signal

import backend_workers as workers
import pytest
from kafka_streams_backend import kafka_backend
from registry import BACKENDS

from modelmon.backends.base import SeekTo

pytestmark = pytest.mark.slow
SPAWN = multiprocessing.get_context("spawn")
#: The stream tests here also run on Kafka streams (composed with the local backend's other roles).
STREAM_BACKENDS = {**BACKENDS, "kafka": kafka_backend}
#: Parameters left out by ``conftest.pytest_collection_modifyitems``, with why.
EXCLUDED_BACKENDS = {
    # KV-only tests: the kafka parameter's KV is the local backend's, already tested as "local".
    "test_two_processes_racing_a_compare_and_set_exactly_one_wins_each_round": {"kafka": "KV is local's"},
    "test_concurrent_increments_lose_nothing": {"kafka": "KV is local's"},
}


@pytest.fixture(params=sorted(STREAM_BACKENDS))
def opener(request, tmp_path):
    """Opens the backend under test; here every backend of ``registry.BACKENDS`` and Kafka streams."""
    with STREAM_BACKENDS[request.param](tmp_path) as open_backend:
        yield open_backend


def _run(target, *args_per_process):
    procs = [SPAWN.Process(target=target, args=args) for args in args_per_process]
    for proc in procs:
        proc.start()
    return procs


def _join(procs, timeout=120):
    for proc in procs:
        proc.join(timeout)
        assert proc.exitcode == 0, f"worker exited with {proc.exitcode}"


def _all_records(streams, path):
    shards = streams.describe(path).shards
    out = {}
    for shard in range(shards):
        seq, records = 1, []
        while page := streams.read(path, shard, seq, limit=1000):
            records.extend(page)
            seq = page[-1].sequence + 1
        out[shard] = records
    return out


def test_two_processes_racing_a_compare_and_set_exactly_one_wins_each_round(opener):
    backend = opener()
    backend.kv.put(workers.TABLE, "cas", {"v": 0})
    rounds = 40
    barrier, results = SPAWN.Barrier(2), SPAWN.Queue()
    procs = _run(workers.race_compare_and_set, *[(opener, w, rounds, barrier, results) for w in range(2)])
    won = dict(results.get(timeout=120) for _ in procs)
    _join(procs)
    assert sorted(won[0] + won[1]) == list(range(rounds))  # every round won once, never twice
    assert backend.kv.get(workers.TABLE, "cas")["v"] == rounds
    backend.close()


def test_concurrent_increments_lose_nothing(opener):
    _join(_run(workers.increment, (opener, 150), (opener, 150)))
    backend = opener()
    assert backend.kv.get(workers.TABLE, "counter") == {"n": 300}
    backend.close()


def test_two_writers_on_one_stream_lose_no_records(opener):
    backend = opener()
    backend.streams.create(workers.STREAM, shards=2)
    batches, size = 25, 200
    _join(_run(workers.put_batches, (opener, 0, batches, size), (opener, 1, batches, size)))
    by_shard = _all_records(backend.streams, workers.STREAM)
    seen = []
    for shard, records in by_shard.items():
        assert [r.sequence for r in records] == list(range(1, len(records) + 1)), f"gap in shard {shard}"
        order = collections.defaultdict(list)
        for r in records:
            worker, batch, i = map(int, r.data.decode().split(":"))
            order[worker].append((batch, i))
            seen.append((worker, batch, i))
        for worker, positions in order.items():  # each writer's records keep their order within the shard
            assert positions == sorted(positions), f"writer {worker} reordered in shard {shard}"
    assert sorted(seen) == [(w, b, i) for w in range(2) for b in range(batches) for i in range(size)]
    backend.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_mid_batch_leaves_no_partial_batch(opener, seed):
    backend = opener()
    backend.streams.create(workers.STREAM, shards=3)
    batch_size = 1000  # the atomic unit of the contract: one V3IO PutRecords call
    started = SPAWN.Event()
    (proc,) = _run(workers.write_until_killed, (opener, batch_size, started))
    assert started.wait(120), "writer never finished a batch"
    proc.join(random.Random(seed).uniform(0.01, 0.4))  # let it get somewhere random into its next batches
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(30)
    assert proc.exitcode == -signal.SIGKILL

    reopened = opener()
    per_batch = collections.Counter()
    for shard, records in _all_records(reopened.streams, workers.STREAM).items():
        assert [r.sequence for r in records] == list(range(1, len(records) + 1)), f"gap in shard {shard}"
        for r in records:
            header = json.loads(r.data.split(b"|", 1)[0])
            per_batch[header["batch"]] += 1
            assert len(r.data.split(b"|", 1)[1]) == workers.RECORD_BYTES
    assert per_batch and set(per_batch.values()) == {batch_size}, "a batch is visible only in part"
    assert sorted(per_batch) == list(range(len(per_batch)))

    samples = reopened.samples.read("ep1", 0, 2**62)
    assert set(samples.groupby("batch").size()) == {50}  # every visible sample file is whole
    assert set(samples["batch"]) <= set(range(len(per_batch) + 1))

    # the store still works after the kill: sequences continue where the committed batches ended
    latest = reopened.streams.seek(workers.STREAM, 0, SeekTo.LATEST)
    (pos,) = reopened.streams.put_records(workers.STREAM, [workers.OutRecord(b"after", shard=0)])
    assert pos == (0, latest)
    reopened.close()
    backend.close()
