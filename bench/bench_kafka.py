"""Kafka stream throughput through the in-repo protocol broker (information, issue 18): put and consume records/s.

The broker is ``tests/kafka_server`` (pure Python, the client's wire protocol; not a real Kafka), run as its
own process: these figures measure the ``kafka`` stream backend and kafka-python (pure Python too) end to
end over a socket, bounded by that broker, not what a Kafka cluster does. Both sides compute each record
batch's CRC-32C; kafka-python does it in C only when the ``crc32c`` package is installed (``crc32c_in_c``).

Records are 1 KB, put in batches of 1,000 with partition keys over a 2-partition topic, as
``bench_stream_local`` does for the local backend. The consumer reads pages of up to 1,000 records and
commits its group offset after each page, as the local runtime's triggers do.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pathlib
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

from modelmon.backends.base import OutRecord, SeekTo

STREAM = "projects/bench/model-endpoints/stream"
RECORD_BYTES = 1024
BATCH = 1000
BATCHES = 40
SHARDS = 2
GROUP = "bench"


def _batch(b: int) -> list[OutRecord]:
    body = os.urandom(RECORD_BYTES - 16)
    return [OutRecord(b"%08d%08d" % (b, i) + body, partition_key=f"endpoint-{i % 16}") for i in range(BATCH)]


def _put(streams: Any) -> float:
    batches = [_batch(b) for b in range(BATCHES)]  # built before timing: we measure the stream, not os.urandom
    start = time.perf_counter()
    for records in batches:
        streams.put_records(STREAM, records)
    return BATCH * BATCHES / (time.perf_counter() - start)


def _consume(streams: Any) -> tuple[float, int]:
    start = time.perf_counter()
    count = 0
    for shard in range(SHARDS):
        seq = streams.committed(STREAM, GROUP, shard) or streams.seek(STREAM, shard, SeekTo.EARLIEST)
        while page := streams.read(STREAM, shard, seq, limit=1000):
            count += len(page)
            seq = page[-1].sequence + 1
            streams.commit(STREAM, GROUP, shard, seq)
    return count / (time.perf_counter() - start), count


@contextlib.contextmanager
def _broker() -> Iterator[str]:
    """The test broker in its own process (as a Kafka broker would be, not sharing this one's GIL): its address."""
    tests = pathlib.Path(__file__).resolve().parent.parent / "tests"
    env = {**os.environ, "PYTHONPATH": str(tests)}
    proc = subprocess.Popen([sys.executable, "-m", "kafka_server"], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        if line[:1] != ["READY"]:
            raise RuntimeError(f"the test broker did not start: {line}")
        yield line[1]
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> dict[str, object]:
    from modelmon.backends.kafka import open_kafka_streams

    with _broker() as bootstrap:
        streams = open_kafka_streams([bootstrap], timeout_s=30)
        try:
            streams.create(STREAM, shards=SHARDS)
            streams.put_records(STREAM, _batch(-1)[:10])  # connect the producer and learn metadata first
            put = _put(streams)
            consume, count = _consume(streams)
        finally:
            streams.close()
    expected = BATCH * BATCHES + 10
    if count != expected:
        raise RuntimeError(f"consumed {count} records, expected {expected}")
    figures: dict[str, object] = {
        "put_records_per_s": round(put),
        "consume_records_per_s": round(consume),
        "records": BATCH * BATCHES,
        "record_bytes": RECORD_BYTES,
        "batch": BATCH,
        "broker": "tests/kafka_server (in-repo protocol broker, own process)",
        "crc32c_in_c": importlib.util.find_spec("crc32c") is not None,
    }
    print(f"kafka streams via the test broker: put {put:,.0f} records/s, consume {consume:,.0f} records/s "
          f"({BATCH * BATCHES:,} records of {RECORD_BYTES} bytes, batches of {BATCH})")
    return figures


if __name__ == "__main__":
    main()
