"""The read path: Fetch v12 (long poll), ListOffsets v10, OffsetForLeaderEpoch v4."""

from __future__ import annotations

import time

from kafka_server import errors
from kafka_server.context import Context
from kafka_server.log import LEADER_EPOCH, PartitionLog
from kafka_server.protocol import Reader, Writer


# ---------------------------------------------------------------------------------- Fetch v12
def fetch(ctx: Context, r: Reader, w: Writer) -> None:
    """Answer once ``min_bytes`` are there or ``max_wait_ms`` has passed, sleeping on the store's condition."""
    r.int32()  # replica_id
    max_wait_ms = r.int32()
    min_bytes = r.int32()
    max_bytes = r.int32()
    r.int8()  # isolation_level: no transactions, so both levels read up to the high watermark
    r.int32()  # session_id: sessions are never created (answered with id 0), so every fetch is a full one
    r.int32()  # session_epoch

    def fetch_partition() -> tuple[int, int, int]:
        index = r.int32()
        r.int32()  # current_leader_epoch
        offset = r.int64()
        r.int32()  # last_fetched_epoch
        r.int64()  # log_start_offset (followers only)
        limit = r.int32()
        r.tags()
        return index, offset, limit

    def fetch_topic() -> tuple[str, list[tuple[int, int, int]]]:
        item = (r.string(), r.array(fetch_partition))
        r.tags()
        return item

    topics = r.array(fetch_topic)

    def forgotten() -> None:
        r.string()
        r.array(r.int32)
        r.tags()

    r.array(forgotten)
    r.string()  # rack_id
    r.tags()

    store = ctx.store
    deadline = time.monotonic() + max_wait_ms / 1000
    injected = ctx.faults.take_failure(1)
    with store.lock:
        while True:
            results, size, failed = _read_partitions(ctx, topics, max_bytes)
            if injected is not None:
                results = [(name, [(row[0], injected, row[2], b"") for row in rows]) for name, rows in results]
                break
            remaining = deadline - time.monotonic()
            if size >= min_bytes or failed or remaining <= 0 or ctx.stopping.is_set():
                break
            ctx.waiting_fetches += 1
            try:
                store.changed.wait(remaining)
            finally:
                ctx.waiting_fetches -= 1

    def partition(row: tuple[int, int, PartitionLog | None, bytes]) -> None:
        index, error, log, data = row
        high = log.end_offset if log is not None else -1
        start = log.log_start_offset if log is not None else -1
        w.int32(index).int16(error).int64(high).int64(high).int64(start)
        w.array([], lambda _: None)  # aborted_transactions
        w.int32(-1).bytes(data).tags()

    def topic(item: tuple[str, list[tuple[int, int, PartitionLog | None, bytes]]]) -> None:
        w.string(item[0]).array(item[1], partition).tags()

    w.int32(0).int16(0).int32(0)
    w.array(results, topic)
    w.tags()


def _read_partitions(
    ctx: Context, topics: list[tuple[str, list[tuple[int, int, int]]]], max_bytes: int
) -> tuple[list[tuple[str, list[tuple[int, int, PartitionLog | None, bytes]]]], int, bool]:
    results = []
    size = 0
    failed = False
    for name, partitions in topics:
        out: list[tuple[int, int, PartitionLog | None, bytes]] = []
        for index, offset, limit in partitions:
            log = ctx.store.partition(name, index)
            if log is None:
                out.append((index, errors.UNKNOWN_TOPIC_OR_PARTITION, None, b""))
                failed = True
            elif not log.log_start_offset <= offset <= log.end_offset:
                out.append((index, errors.OFFSET_OUT_OF_RANGE, log, b""))
                failed = True
            else:
                data = log.read(offset, min(limit, max(max_bytes - size, 0)), at_least_one=size == 0)
                size += len(data)
                out.append((index, errors.NONE, log, data))
        results.append((name, out))
    return results, size, failed


# ---------------------------------------------------------------------------------- ListOffsets v10
LATEST, EARLIEST, MAX_TIMESTAMP, EARLIEST_LOCAL, LATEST_TIERED = -1, -2, -3, -4, -5


def list_offsets(ctx: Context, r: Reader, w: Writer) -> None:
    r.int32()  # replica_id
    r.int8()  # isolation_level

    def list_partition() -> tuple[int, int]:
        index = r.int32()
        r.int32()  # current_leader_epoch
        item = (index, r.int64())
        r.tags()
        return item

    def list_topic() -> tuple[str, list[tuple[int, int]]]:
        item = (r.string(), r.array(list_partition))
        r.tags()
        return item

    topics = r.array(list_topic)
    r.int32()  # timeout_ms
    r.tags()

    def partition_for(name: str, index: int, timestamp: int) -> tuple[int, int, int, int]:
        """(error, timestamp, offset, leader epoch)."""
        log = ctx.store.partition(name, index)
        if log is None:
            return errors.UNKNOWN_TOPIC_OR_PARTITION, -1, -1, -1
        if timestamp == LATEST:
            return errors.NONE, -1, log.end_offset, LEADER_EPOCH
        if timestamp in (EARLIEST, EARLIEST_LOCAL):
            return errors.NONE, -1, log.log_start_offset, LEADER_EPOCH
        if timestamp == LATEST_TIERED:
            return errors.NONE, -1, -1, -1
        offset, found = log.max_timestamp() if timestamp == MAX_TIMESTAMP else log.offset_for_timestamp(timestamp)
        return errors.NONE, found, offset, LEADER_EPOCH if offset >= 0 else -1

    injected = ctx.faults.take_failure(2)
    with ctx.store.lock:
        answers = [(name, [(index, *partition_for(name, index, ts)) for index, ts in parts]) for name, parts in topics]
    if injected is not None:
        answers = [(name, [(row[0], injected, -1, -1, -1) for row in rows]) for name, rows in answers]

    def partition(row: tuple[int, int, int, int, int]) -> None:
        index, error, timestamp, offset, epoch = row
        w.int32(index).int16(error).int64(timestamp).int64(offset).int32(epoch).tags()

    def topic(item: tuple[str, list[tuple[int, int, int, int, int]]]) -> None:
        w.string(item[0]).array(item[1], partition).tags()

    w.int32(0).array(answers, topic).tags()


# ---------------------------------------------------------------------------------- OffsetForLeaderEpoch v4
def offset_for_leader_epoch(ctx: Context, r: Reader, w: Writer) -> None:
    """Epoch 0 is the only leader epoch there ever was, so it ends at the log end offset."""
    r.int32()  # replica_id

    def epoch_partition() -> tuple[int, int]:
        index = r.int32()
        r.int32()  # current_leader_epoch
        item = (index, r.int32())
        r.tags()
        return item

    def epoch_topic() -> tuple[str, list[tuple[int, int]]]:
        item = (r.string(), r.array(epoch_partition))
        r.tags()
        return item

    topics = r.array(epoch_topic)
    r.tags()

    def partition_for(name: str, index: int, epoch: int) -> tuple[int, int, int, int]:
        log = ctx.store.partition(name, index)
        if log is None:
            return errors.UNKNOWN_TOPIC_OR_PARTITION, index, -1, -1
        if epoch < LEADER_EPOCH:
            return errors.NONE, index, -1, -1
        return errors.NONE, index, LEADER_EPOCH, log.end_offset

    with ctx.store.lock:
        answers = [(name, [partition_for(name, i, e) for i, e in parts]) for name, parts in topics]

    def partition(row: tuple[int, int, int, int]) -> None:
        w.int16(row[0]).int32(row[1]).int32(row[2]).int64(row[3]).tags()

    def topic(item: tuple[str, list[tuple[int, int, int, int]]]) -> None:
        w.string(item[0]).array(item[1], partition).tags()

    w.int32(0).array(answers, topic).tags()
