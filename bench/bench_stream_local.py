"""Stream throughput of the local backend: put, then consume with 1 and 2 processes (records/s).

Records are 1 KB, put in batches of 1,000 with partition keys over a 2-shard stream. Consumers read
pages of 1,000 and commit their offset after each page, as the local runtime does. The baseline in
the same run is the naive way: one ``put_records`` call (one transaction, one commit) per record.
Targets (issue 2): put ≥ 100,000 records/s, one consumer ≥ 50,000 records/s.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
import time

from modelmon.backends.base import OutRecord, SeekTo
from modelmon.backends.local import open_local_backend

STREAM = "projects/bench/model-endpoints/stream"
BASELINE_STREAM = "projects/bench/model-endpoints/stream-naive"
RECORD_BYTES = 1024
BATCH = 1000
BATCHES = 200
BASELINE_RECORDS = 2000
SHARDS = 2
PUT_TARGET, CONSUME_TARGET = 100_000, 50_000


def _batch(b: int) -> list[OutRecord]:
    body = os.urandom(RECORD_BYTES - 16)
    return [OutRecord(b"%08d%08d" % (b, i) + body, partition_key=f"endpoint-{i % 16}") for i in range(BATCH)]


def _put(home: str) -> float:
    backend = open_local_backend(home)
    backend.streams.create(STREAM, shards=SHARDS)
    batches = [_batch(b) for b in range(BATCHES)]  # built before timing: we measure the store, not os.urandom
    start = time.perf_counter()
    for records in batches:
        backend.streams.put_records(STREAM, records)
    elapsed = time.perf_counter() - start
    backend.close()
    return BATCH * BATCHES / elapsed


def _put_naive(home: str) -> float:
    backend = open_local_backend(home)
    backend.streams.create(BASELINE_STREAM, shards=SHARDS)
    records = _batch(0)[:1] * BASELINE_RECORDS
    start = time.perf_counter()
    for record in records:
        backend.streams.put_records(BASELINE_STREAM, [record])
    elapsed = time.perf_counter() - start
    backend.close()
    return BASELINE_RECORDS / elapsed


def _consume(home: str, shards: list[int], group: str, barrier, results) -> None:
    backend = open_local_backend(home)
    barrier.wait()
    start = time.perf_counter()
    count = 0
    for shard in shards:
        seq = backend.streams.committed(STREAM, group, shard) or backend.streams.seek(STREAM, shard, SeekTo.EARLIEST)
        while page := backend.streams.read(STREAM, shard, seq, limit=1000):
            count += len(page)
            seq = page[-1].sequence + 1
            backend.streams.commit(STREAM, group, shard, seq)
    results.put((start, time.perf_counter(), count))
    backend.close()


def _consume_with(home: str, processes: int) -> tuple[float, int]:
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(processes), ctx.Queue()
    split = [list(range(SHARDS))[i::processes] for i in range(processes)]
    procs = [ctx.Process(target=_consume, args=(home, shards, f"group-{processes}", barrier, results))
             for shards in split]
    for proc in procs:
        proc.start()
    spans = [results.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join()
    total = sum(count for _, _, count in spans)
    wall = max(end for _, end, _ in spans) - min(start for start, _, _ in spans)
    return total / wall, total


def main() -> dict:
    home = tempfile.mkdtemp(prefix="bench-stream-local-")
    try:
        naive = _put_naive(home)
        put = _put(home)
        consume1, total1 = _consume_with(home, 1)
        consume2, total2 = _consume_with(home, 2)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    expected = BATCH * BATCHES
    assert total1 == expected and total2 == expected, (total1, total2, expected)
    figures = {
        "record_bytes": RECORD_BYTES,
        "batch": BATCH,
        "records": expected,
        "put_records_per_s": round(put),
        "baseline_one_record_per_put_per_s": round(naive),
        "put_vs_baseline": round(put / naive, 1),
        "consume_1_process_records_per_s": round(consume1),
        "consume_2_processes_records_per_s": round(consume2),
        "put_target_met": put >= PUT_TARGET,
        "consume_target_met": consume1 >= CONSUME_TARGET,
    }
    print(f"local stream, {expected:,} records of {RECORD_BYTES} B in batches of {BATCH}, {SHARDS} shards")
    print(f"  put                    {put:>12,.0f} records/s  (target {PUT_TARGET:,})")
    print(f"  baseline: 1 rec / put  {naive:>12,.0f} records/s  -> batched put is {put / naive:,.1f}x")
    print(f"  consume, 1 process     {consume1:>12,.0f} records/s  (target {CONSUME_TARGET:,})")
    print(f"  consume, 2 processes   {consume2:>12,.0f} records/s")
    return figures


if __name__ == "__main__":
    main()
