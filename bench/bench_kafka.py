"""Kafka stream throughput through the in-repo protocol broker (information, issue 18): put and consume records/s.

The broker is ``tests/kafka_server`` (pure Python, the client's wire protocol; not a real Kafka): these
figures measure the ``kafka`` stream backend and kafka-python end to end over a socket, bounded by that
broker, not what a Kafka cluster does. Records are 1 KB, put in batches of 1,000 with partition keys
over a 2-partition topic, as ``bench_stream_local`` does for the local backend. The consumer reads pages of
up to 1,000 records and commits its group offset after each page, as the local runtime's triggers do.
"""

from __future__ import annotations

import os
import pathlib
import sys
import time
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


def main() -> dict[str, object]:
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests"))
    from kafka_server import KafkaTestBroker

    from modelmon.backends.kafka import open_kafka_streams

    with KafkaTestBroker() as broker:
        streams = open_kafka_streams([broker.bootstrap], timeout_s=30)
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
        "broker": "tests/kafka_server (in-repo protocol broker)",
    }
    print(f"kafka streams via the test broker: put {put:,.0f} records/s, consume {consume:,.0f} records/s "
          f"({BATCH * BATCHES:,} records of {RECORD_BYTES} bytes, batches of {BATCH})")
    return figures


if __name__ == "__main__":
    main()
