"""Child-process bodies for the multi-process contract tests (module-level so ``spawn`` can import them)."""

from __future__ import annotations

import json

import pandas as pd

from modelmon.backends.base import Cond, OutRecord

STREAM = "projects/p/model-endpoints/stream"
TABLE = "race"
RECORD_BYTES = 1024


def race_compare_and_set(opener, worker: int, rounds: int, barrier, results) -> None:
    """Each round, both workers try to move ``v`` from ``r`` to ``r + 1``; report which rounds we won."""
    backend = opener()
    won = []
    for r in range(rounds):
        barrier.wait()
        if backend.kv.update(TABLE, "cas", {"v": r + 1, "winner": worker}, condition=[Cond.eq("v", r)]):
            won.append(r)
    results.put((worker, won))
    backend.close()


def increment(opener, times: int) -> None:
    backend = opener()
    for _ in range(times):
        backend.kv.update(TABLE, "counter", increment={"n": 1})
    backend.close()


def put_batches(opener, worker: int, batches: int, size: int) -> None:
    """Put ``batches`` batches of ``size`` records keyed over a few partition keys."""
    backend = opener()
    for b in range(batches):
        backend.streams.put_records(
            STREAM,
            [OutRecord(f"{worker}:{b}:{i}".encode(), partition_key=f"key-{i % 5}") for i in range(size)],
        )
    backend.close()


def write_until_killed(opener, batch_size: int, started) -> None:
    """Write stream batches and sample batches forever; the parent SIGKILLs us at a random instant."""
    backend = opener()
    b = 0
    while True:
        header = json.dumps({"batch": b, "size": batch_size}).encode()
        records = [OutRecord(header + b"|" + bytes([i % 256]) * RECORD_BYTES, partition_key=str(i)) for i in
                   range(batch_size)]
        backend.streams.put_records(STREAM, records)
        rows = pd.DataFrame({"timestamp": 1_700_000_000_000 + b * 600_000 + pd.RangeIndex(50) * 1000,
                             "batch": b, "f1": 1.0})
        backend.samples.append("ep1", rows, f"batch-{b}")
        b += 1
        started.set()
