"""One partition's log: stored batches, offsets, the idempotent-producer state, segments, and its file.

Offsets start at 0 and grow by one per record; the high watermark is the log end offset (one replica, so
every append is committed at once). Reads return whole stored batches, starting with the one holding the
fetch offset, as Kafka does; the consumer skips the records before its position.

Batches are grouped in segments as Kafka rolls them (``segment.bytes``, ``segment.ms``), because time
retention deletes whole segments: a batch outlives its ``retention.ms`` while it shares a segment with a
newer one. The segments are bookkeeping over one file of raw batches; a restarted log rolls them again
from the stored batches.
"""

from __future__ import annotations

import bisect
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kafka_server import errors, records
from kafka_server.records import BatchHeader, InvalidBatch

LEADER_EPOCH = 0
_DEDUP_BATCHES = 5  # Kafka keeps the metadata of the last five batches per producer to answer retries


@dataclass
class StoredBatch:
    base_offset: int
    last_offset: int
    max_timestamp: int
    data: bytearray


@dataclass
class Segment:
    """One segment's bookkeeping: where it starts, its size, and the timestamps Kafka rolls and expires by."""

    base_offset: int
    size: int
    rolling_timestamp: int  # max timestamp of its first batch: segment.ms counts from it
    largest_timestamp: int  # retention.ms counts from it


#: (segment.bytes, segment.ms) in force for a log; read at each append, as a topic's configs may change.
SegmentLimits = Callable[[], tuple[int, int]]
KAFKA_SEGMENT_LIMITS = (1_073_741_824, 604_800_000)  # Kafka's defaults: 1 GiB, 7 days


@dataclass
class ProducerState:
    epoch: int
    last_sequence: int
    # (first sequence, last sequence, base offset, log append time) of the latest batches
    recent: deque[tuple[int, int, int, int]] = field(default_factory=lambda: deque(maxlen=_DEDUP_BATCHES))


@dataclass
class AppendResult:
    base_offset: int
    log_append_time: int  # -1 for CreateTime topics


class PartitionLog:
    """Batches of one partition, in memory and, with ``path``, appended to a file of raw batches."""

    def __init__(self, path: Path | None = None, segment_limits: SegmentLimits | None = None) -> None:
        self.batches: list[StoredBatch] = []
        #: non-empty segments, oldest first; none means the active segment is empty
        self.segments: list[Segment] = []
        self.segment_limits = segment_limits or (lambda: KAFKA_SEGMENT_LIMITS)
        self._bases: list[int] = []
        self.log_start_offset = 0
        self.end_offset = 0
        self.producers: dict[int, ProducerState] = {}
        self.path = path
        if path is not None and path.exists():
            self._load(path)

    # ------------------------------------------------------------------------------ writing
    def append(self, data: bytes, head: BatchHeader, log_append_time: int | None) -> AppendResult:
        """Append one validated batch, or return the offsets of the same batch if this is a producer's retry."""
        duplicate = self._check_producer(head)
        if duplicate is not None:
            return duplicate
        stored = records.assign(data, head, self.end_offset, LEADER_EPOCH, log_append_time)
        self._add(stored, records.read_header(stored))
        if self.path is not None:
            with self.path.open("ab") as out:
                out.write(stored)
        return AppendResult(self.batches[-1].base_offset, -1 if log_append_time is None else log_append_time)

    def _check_producer(self, head: BatchHeader) -> AppendResult | None:
        """Kafka's sequence rules for idempotent producers; a batch without producer id skips them."""
        if head.producer_id < 0:
            return None
        state = self.producers.get(head.producer_id)
        if state is None:
            return None  # unknown producer (new, or its batches were deleted): any sequence is accepted
        if head.producer_epoch < state.epoch:
            raise InvalidBatch(errors.INVALID_PRODUCER_EPOCH, f"epoch {head.producer_epoch} < {state.epoch}")
        if head.producer_epoch == state.epoch:
            for first, last, base_offset, append_time in state.recent:
                if (first, last) == (head.base_sequence, head.last_sequence):
                    return AppendResult(base_offset, append_time)
            if head.base_sequence != (state.last_sequence + 1) % (1 << 31):
                raise InvalidBatch(
                    errors.OUT_OF_ORDER_SEQUENCE_NUMBER,
                    f"producer {head.producer_id}: sequence {head.base_sequence} after {state.last_sequence}",
                )
        elif head.base_sequence != 0:
            raise InvalidBatch(errors.OUT_OF_ORDER_SEQUENCE_NUMBER, "a new producer epoch starts at sequence 0")
        return None

    def _add(self, data: bytearray, head: BatchHeader) -> None:
        self.batches.append(StoredBatch(head.base_offset, head.last_offset, head.max_timestamp, data))
        self._bases.append(head.base_offset)
        self._place_in_segment(len(data), head)
        self.end_offset = head.last_offset + 1
        if head.producer_id >= 0:
            state = self.producers.get(head.producer_id)
            if state is None or state.epoch != head.producer_epoch:
                state = self.producers[head.producer_id] = ProducerState(head.producer_epoch, -1)
            state.last_sequence = head.last_sequence
            append_time = head.max_timestamp if head.log_append_time else -1
            state.recent.append((head.base_sequence, head.last_sequence, head.base_offset, append_time))

    def _place_in_segment(self, size: int, head: BatchHeader) -> None:
        """Kafka's roll rule (``LogSegment.shouldRoll``, no jitter): a new segment once the active one would
        pass ``segment.bytes`` with this batch, or this batch's time is over ``segment.ms`` past the active
        segment's first batch."""
        max_bytes, max_ms = self.segment_limits()
        active = self.segments[-1] if self.segments else None
        if active is None or active.size > max_bytes - size or head.max_timestamp - active.rolling_timestamp > max_ms:
            self.segments.append(Segment(head.base_offset, size, head.max_timestamp, head.max_timestamp))
            return
        active.size += size
        active.largest_timestamp = max(active.largest_timestamp, head.max_timestamp)

    def expire(self, now_ms: int, retention_ms: int) -> None:
        """Kafka's time retention: delete whole segments, oldest first, while ``now_ms`` is more than
        ``retention_ms`` past their newest record; the active segment too (Kafka rolls an empty one first),
        so a log whose every record expired starts at its end offset."""
        expired = 0
        for segment in self.segments:
            if now_ms - segment.largest_timestamp <= retention_ms:
                break
            expired += 1
        if expired:
            self.delete_before(self.segments[expired].base_offset if expired < len(self.segments) else self.end_offset)

    def _load(self, path: Path) -> None:
        """Rebuild from the segment file; a torn or corrupt tail (broker killed mid-write) is cut off."""
        data = path.read_bytes()
        pos = 0
        while pos + records.HEADER_SIZE <= len(data):
            head = records.read_header(data[pos : pos + records.HEADER_SIZE])
            end = pos + records.LOG_OVERHEAD + head.length
            if end > len(data) or records.crc32c(memoryview(data)[pos + 21 : end]) != head.crc:
                break
            self._add(bytearray(data[pos:end]), head)
            pos = end
        if pos != len(data):
            with path.open("r+b") as out:
                out.truncate(pos)
        if self.batches:
            self.log_start_offset = self.batches[0].base_offset

    def delete_before(self, offset: int) -> None:
        """Drop the segments before the one starting at ``offset`` (or all, at the end offset); the file is
        rewritten."""
        keep = [b for b in self.batches if b.last_offset >= offset]
        if len(keep) == len(self.batches):
            return
        self.batches = keep
        self._bases = [b.base_offset for b in keep]
        self.segments = [s for s in self.segments if s.base_offset >= offset]
        self.log_start_offset = keep[0].base_offset if keep else self.end_offset
        if self.path is not None:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_bytes(b"".join(bytes(b.data) for b in keep))
            os.replace(tmp, self.path)

    # ------------------------------------------------------------------------------ reading
    def read(self, offset: int, max_bytes: int, at_least_one: bool) -> bytes:
        """Whole batches from the one holding ``offset``, up to ``max_bytes`` (the first always if allowed)."""
        i = max(bisect.bisect_right(self._bases, offset) - 1, 0)
        if i < len(self.batches) and self.batches[i].last_offset < offset:
            i += 1
        out: list[bytes] = []
        size = 0
        for batch in self.batches[i:]:
            if size + len(batch.data) > max_bytes and (out or not at_least_one):
                break
            out.append(bytes(batch.data))
            size += len(batch.data)
        return b"".join(out)

    def offset_for_timestamp(self, timestamp: int) -> tuple[int, int]:
        """(offset, timestamp) of the first record stamped at or after ``timestamp``; (-1, -1) if none."""
        for batch in self.batches:
            if batch.max_timestamp < timestamp:
                continue
            for record in records.decode_records(batch.data):
                if record.timestamp >= timestamp and record.offset >= self.log_start_offset:
                    return record.offset, record.timestamp
        return -1, -1

    def max_timestamp(self) -> tuple[int, int]:
        """(offset, timestamp) of the record with the largest timestamp (ListOffsets -3)."""
        best = (-1, -1)
        for batch in self.batches:
            for record in records.decode_records(batch.data):
                if record.timestamp > best[1]:
                    best = (record.offset, record.timestamp)
        return best
