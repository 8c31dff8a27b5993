"""Record batches, message format v2 (magic 2): the only format a Kafka 4 broker accepts.

The broker stores a producer's batch as it came (as Kafka does), after checking it the way Kafka's log
validator does: one batch per partition, magic 2, the CRC32C over everything after the CRC field, and every
record decodable with consecutive offset deltas. Appending only rewrites the header fields that the leader
owns (base offset, partition leader epoch, and for ``LogAppendTime`` topics the timestamp type and max
timestamp, which changes the CRC).

Layout of the 61-byte header::

    0 baseOffset i64 | 8 batchLength i32 | 12 partitionLeaderEpoch i32 | 16 magic i8 | 17 crc u32 |
    21 attributes i16 | 23 lastOffsetDelta i32 | 27 baseTimestamp i64 | 35 maxTimestamp i64 |
    43 producerId i64 | 51 producerEpoch i16 | 53 baseSequence i32 | 57 recordCount i32 | 61 records...
"""

from __future__ import annotations

import gzip
import importlib
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from kafka_server import errors
from kafka_server.protocol import ProtocolError, Reader

HEADER_SIZE = 61
LOG_OVERHEAD = 12  # baseOffset + batchLength: the part of the header batchLength does not count

COMPRESSION_NONE, COMPRESSION_GZIP = 0, 1
COMPRESSION_NAMES = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}
TIMESTAMP_TYPE_BIT = 0x08  # set: LogAppendTime
TRANSACTIONAL_BIT = 0x10
CONTROL_BIT = 0x20

_HEAD = struct.Struct(">qiibIhiqqqhii")


def _crc32c_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()

_fast_crc32c: Callable[[bytes], int] | None
try:
    _fast_crc32c = importlib.import_module("crc32c").crc32c
except ImportError:
    _fast_crc32c = None


def crc32c(data: bytes | bytearray | memoryview) -> int:
    """CRC-32C (Castagnoli), the checksum of record batches since magic 2.

    Pure Python runs at about 4 MB/s, a quarter of the time a kafka-python producer waits on this broker;
    the ``crc32c`` package is used instead when it is installed.
    """
    if _fast_crc32c is not None:
        return int(_fast_crc32c(bytes(data)))
    crc = 0xFFFFFFFF
    table = _TABLE
    for byte in bytes(data):
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


@dataclass
class Record:
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]] = field(default_factory=list)


@dataclass
class BatchHeader:
    base_offset: int
    length: int
    leader_epoch: int
    magic: int
    crc: int
    attributes: int
    last_offset_delta: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    count: int
    records_max_timestamp: int = -1  # set by validate(): the largest record timestamp in the batch
    records_min_timestamp: int = -1  # and the smallest

    @property
    def compression(self) -> int:
        return self.attributes & 0x07

    @property
    def log_append_time(self) -> bool:
        return bool(self.attributes & TIMESTAMP_TYPE_BIT)

    @property
    def last_offset(self) -> int:
        return self.base_offset + self.last_offset_delta

    @property
    def last_sequence(self) -> int:
        if self.base_sequence < 0:
            return -1
        return (self.base_sequence + self.last_offset_delta) % (1 << 31)


class InvalidBatch(Exception):
    """A produced batch the broker refuses; ``code`` is the Kafka error code the partition gets."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def read_header(data: bytes | bytearray | memoryview) -> BatchHeader:
    if len(data) < HEADER_SIZE:
        raise InvalidBatch(errors.CORRUPT_MESSAGE, f"record batch of {len(data)} bytes is shorter than its header")
    return BatchHeader(*_HEAD.unpack_from(data, 0))


def validate(data: bytes) -> BatchHeader:
    """Check one produced batch as Kafka's log validator does, and return its header."""
    if len(data) >= 17 and data[16] != 2:
        raise InvalidBatch(errors.UNSUPPORTED_FOR_MESSAGE_FORMAT, f"magic {data[16]}: only message format v2")
    head = read_header(data)
    if head.length + LOG_OVERHEAD != len(data):
        raise InvalidBatch(
            errors.INVALID_RECORD,
            f"produce requests carry exactly one record batch: batchLength says {head.length + LOG_OVERHEAD}"
            f" bytes, the partition data has {len(data)}",
        )
    if crc32c(memoryview(data)[21:]) != head.crc:
        raise InvalidBatch(errors.CORRUPT_MESSAGE, "record batch CRC32C does not match its content")
    if head.attributes & (TRANSACTIONAL_BIT | CONTROL_BIT):
        raise InvalidBatch(errors.INVALID_RECORD, "transactional and control batches are not supported")
    if head.compression not in (COMPRESSION_NONE, COMPRESSION_GZIP):
        raise InvalidBatch(
            errors.UNSUPPORTED_COMPRESSION_TYPE,
            f"compression {COMPRESSION_NAMES.get(head.compression, head.compression)}: only none and gzip",
        )
    if head.count <= 0 or head.last_offset_delta != head.count - 1:
        raise InvalidBatch(errors.INVALID_RECORD, f"{head.count} records but lastOffsetDelta {head.last_offset_delta}")
    records = decode_records(data, replace(head, attributes=head.attributes & ~TIMESTAMP_TYPE_BIT))
    for index, record in enumerate(records):
        if record.offset != head.base_offset + index:
            raise InvalidBatch(errors.INVALID_RECORD, f"record {index} has offset delta {record.offset}")
    head.records_max_timestamp = max(record.timestamp for record in records)
    head.records_min_timestamp = min(record.timestamp for record in records)
    return head


def record_bytes(data: bytes | bytearray, head: BatchHeader) -> bytes:
    body = bytes(data[HEADER_SIZE:])
    if head.compression == COMPRESSION_GZIP:
        try:
            return gzip.decompress(body)
        except (OSError, EOFError, zlib.error) as exc:
            raise InvalidBatch(errors.CORRUPT_MESSAGE, f"gzip batch does not decompress: {exc}") from exc
    return body


def decode_records(data: bytes | bytearray, head: BatchHeader | None = None) -> list[Record]:
    """Every record of one batch, with absolute offsets and timestamps (LogAppendTime: the batch's)."""
    head = head or read_header(data)
    reader = Reader(record_bytes(data, head))
    records = []
    try:
        for _ in range(head.count):
            size = reader.varint()
            end = reader.pos + size
            reader.int8()  # record attributes: unused by magic 2
            timestamp = head.base_timestamp + reader.varint()
            offset = head.base_offset + reader.varint()
            key = _varbytes(reader)
            value = _varbytes(reader)
            headers = []
            for _ in range(reader.varint()):
                name = _varbytes(reader)
                try:
                    headers.append(((name or b"").decode("utf-8"), _varbytes(reader)))
                except UnicodeDecodeError:
                    raise InvalidBatch(errors.CORRUPT_MESSAGE, "a header key is not UTF-8") from None
            if reader.pos != end:
                raise InvalidBatch(errors.CORRUPT_MESSAGE, f"record length {size} does not match its fields")
            if head.log_append_time:
                timestamp = head.max_timestamp
            records.append(Record(offset, timestamp, key, value, headers))
    except ProtocolError as exc:
        raise InvalidBatch(errors.CORRUPT_MESSAGE, f"records do not decode: {exc}") from exc
    if reader.remaining():
        raise InvalidBatch(errors.CORRUPT_MESSAGE, f"{reader.remaining()} bytes after the last record")
    return records


def _varbytes(reader: Reader) -> bytes | None:
    n = reader.varint()
    if n < 0:
        return None
    return bytes(reader._take(n))


def assign(
    data: bytes, head: BatchHeader, base_offset: int, leader_epoch: int, log_append_time_ms: int | None
) -> bytearray:
    """The batch as the log stores it: leader-owned header fields rewritten, CRC recomputed if covered.

    As Kafka's validator does in place: a ``LogAppendTime`` topic gets the timestamp-type bit and the append
    time as max timestamp (the base timestamp stays the producer's); a ``CreateTime`` batch whose header
    disagrees with its records gets their largest timestamp.
    """
    out = bytearray(data)
    struct.pack_into(">qii", out, 0, base_offset, len(data) - LOG_OVERHEAD, leader_epoch)
    attributes, max_timestamp = head.attributes, head.max_timestamp
    if log_append_time_ms is not None:
        attributes, max_timestamp = attributes | TIMESTAMP_TYPE_BIT, log_append_time_ms
    else:
        attributes &= ~TIMESTAMP_TYPE_BIT
        if head.records_max_timestamp >= 0:  # known once validate() has read the records
            max_timestamp = head.records_max_timestamp
    if (attributes, max_timestamp) != (head.attributes, head.max_timestamp):
        struct.pack_into(">h", out, 21, attributes)
        struct.pack_into(">q", out, 35, max_timestamp)
        struct.pack_into(">I", out, 17, crc32c(memoryview(out)[21:]))
    return out
