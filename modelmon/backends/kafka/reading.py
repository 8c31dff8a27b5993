"""Reading a page of one partition at an offset with the shared, group-less consumer.

The consumer streams: after a page it keeps fetching from where the page ended. A read that continues
where the previous one on the same partition stopped takes what is already fetched; any other offset
or partition re-assigns and seeks it. Callers know the partition's end offset first (a ListOffsets
round trip), so a read at the end returns at once instead of waiting for records that are not there.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from modelmon.backends.base import Record


@dataclasses.dataclass
class ReadCursor:
    """Where the consumer stands: the partition it is assigned and the next offset it will return."""

    partition: TopicPartition | None = None
    offset: int = -1


def read_page(consumer: KafkaConsumer, cursor: ReadCursor, tp: TopicPartition, offset: int, end: int,
              limit: int, timeout_s: float) -> list[Record]:
    """Up to ``limit`` records of ``tp`` from ``offset`` (``< end``, the partition's end offset).

    Returns what the first fetch brings (at least one record, unless nothing arrives within
    ``timeout_s``: then ``[]`` and the caller reads again later). Only under the clients' read lock.
    """
    if cursor.partition != tp:
        consumer.assign([tp])
        cursor.partition, cursor.offset = tp, -1
    if cursor.offset != offset:
        consumer.seek(tp, offset)
        cursor.offset = offset
    deadline = time.monotonic() + timeout_s
    wanted = min(limit, end - offset)
    out: list[Record] = []
    while not out and time.monotonic() < deadline:
        remaining_ms = max(1, int((deadline - time.monotonic()) * 1000))
        batch = consumer.poll(timeout_ms=remaining_ms, max_records=wanted).get(tp, [])
        out = [_record(tp.partition, r) for r in batch if r.offset >= offset]
    if out:
        cursor.offset = out[-1].sequence  # the next offset: the last one read + 1
    return out


def _record(partition: int, consumed: Any) -> Record:
    """A kafka-python ``ConsumerRecord`` as the contract's ``Record``: sequence = offset + 1."""
    key = consumed.key
    return Record(
        shard=partition,
        sequence=int(consumed.offset) + 1,
        data=bytes(consumed.value or b""),
        partition_key=key.decode("utf-8", "replace") if key is not None else None,
        arrival_ms=int(consumed.timestamp),
    )
