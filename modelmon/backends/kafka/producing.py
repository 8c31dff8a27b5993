"""Where a record goes, and sending one PutRecords-sized request of records through the producer.

Routing is decided here, not by the producer's partitioner, so that it is stable and known before
anything is sent: a record's ``shard`` is its partition; a ``partition_key`` goes where Kafka's own
default partitioner puts that key (murmur2 of its UTF-8 bytes, as the Java client and kafka-python do),
so any Kafka producer keyed by endpoint id writes to the same partition as modelmon; a record with
neither goes to partition ``index % partitions``, as on the local backend.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence

from kafka import KafkaProducer
from kafka.errors import KafkaTimeoutError
from kafka.partitioner.default import murmur2

from modelmon.backends.base import OutRecord
from modelmon.backends.kafka.failures import KAFKA_FAILURES


@functools.lru_cache(maxsize=65536)  # a batch repeats a few keys (endpoint ids) many times
def partition_for_key(partition_key: str, partitions: int) -> int:
    """Kafka's default partition of a keyed record: ``(murmur2(key) & 0x7fffffff) % partitions``.

    Kafka's own test vector: the Java client's ``Utils.murmur2("21")`` is -973932308, so of 1,000 partitions
    (``& 0x7fffffff`` gives 1173551340):

    >>> partition_for_key("21", 1000)
    340
    """
    return int(murmur2(partition_key.encode()) & 0x7FFFFFFF) % partitions


def route(path: str, record: OutRecord, index: int, partitions: int) -> int:
    """The partition of ``records[index]``; ``ValueError`` for a shard the topic does not have."""
    if not isinstance(record, OutRecord) or not isinstance(record.data, bytes | bytearray):
        raise TypeError(f"record {index} for stream {path!r} must be an OutRecord with bytes data")
    if record.shard is not None:
        if isinstance(record.shard, bool) or not isinstance(record.shard, int) or not 0 <= record.shard < partitions:
            raise ValueError(f"stream {path!r}: record {index} names shard {record.shard!r}, but the stream has "
                             f"shards 0..{partitions - 1}; nothing was put")
        return record.shard
    if record.partition_key is not None:
        return partition_for_key(record.partition_key, partitions)
    return index % partitions


def send_request(
    producer: KafkaProducer,
    topic: str,
    records: Sequence[OutRecord],
    routes: Sequence[int],
    request: range,
    placed: list[tuple[int, int] | None],
    timeout_s: float,
) -> BaseException | None:
    """Send ``records[request]`` and wait for every answer; fill ``placed[i]`` with ``(partition, offset + 1)``
    for each record the broker acknowledged. Returns the first failure (``None``: all stored).

    Every record sent is waited for, also after a failure: the producer may still store it, and the caller
    must say exactly what was stored. The producer's own retries are bounded by its delivery timeout.
    """
    futures = []
    failure: BaseException | None = None
    for i in request:
        record = records[i]
        key = record.partition_key.encode() if record.partition_key is not None else None
        try:
            futures.append((i, producer.send(topic, value=bytes(record.data), key=key, partition=routes[i])))
        except KAFKA_FAILURES as exc:  # no metadata within the timeout (brokers down): stop sending
            failure = exc
            break
    flushed: BaseException | None = None
    try:
        producer.flush(timeout=timeout_s * 2)
    except KAFKA_FAILURES as exc:  # the records' own answers below say more
        flushed = exc
    deadline = time.monotonic() + timeout_s
    for i, future in futures:
        try:
            metadata = future.get(timeout=max(0.0, deadline - time.monotonic()))
        except KAFKA_FAILURES as exc:
            failure = failure or exc
            continue
        placed[i] = (int(metadata.partition), int(metadata.offset) + 1)
    if failure is None and any(placed[i] is None for i in request):
        failure = flushed or KafkaTimeoutError("records were neither acknowledged nor refused in time")
    return failure
