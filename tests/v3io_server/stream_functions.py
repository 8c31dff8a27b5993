"""The streaming web-API functions: CreateStream, DescribeStream, UpdateStream, PutRecords, SeekShard, GetRecords."""

from __future__ import annotations

import base64
import dataclasses
import itertools
import json
import zlib
from typing import Any

from v3io_server.store import Shard, Store, StoredRecord, StreamNode, V3ioFailure, not_found

#: PutRecords limits, as the platform documents them (docs/v3io.md, "Real-system rules"): records per
#: request (more and the request fails), bytes of a record's data, bytes of the request's JSON body,
#: bytes of a partition key. modelmon's own copy is in ``modelmon/backends/base.py``; this one is the
#: platform's, so a client that drifts from it fails here.
MAX_RECORDS_PER_PUT = 1000
MAX_RECORD_DATA_BYTES = 1024 * 1024
MAX_PUT_BODY_BYTES = 10 * 1024 * 1024
MAX_PARTITION_KEY_BYTES = 256
#: How a record over a per-record limit is answered: failed on its own in a 200 response (as a record naming
#: a shard that does not exist is, v3io-go ``TestStream``), or the whole request refused with a 400. The
#: platform's documentation gives the limit, not the answer, so tests run both.
OVERSIZE_SHAPES = ("record", "request")
_round_robin = itertools.count()


@dataclasses.dataclass
class RecordFaults:
    """Per-record failures to inject: ``reject`` positions of the next PutRecords; ``throttle`` refuses every
    record whose data holds the marker, as throttled, that many times in all (whichever request carries it)."""

    reject: set[int] = dataclasses.field(default_factory=set)
    throttle: dict[bytes, int] = dataclasses.field(default_factory=dict)

    def refuses(self, index: int, data: str) -> bool:
        if index in self.reject:
            return True
        if self.throttle:
            raw = base64.b64decode(data)
            for marker, left in self.throttle.items():
                if left > 0 and marker in raw:
                    self.throttle[marker] = left - 1
                    return True
        return False


def check_body_size(raw: bytes) -> None:
    """The whole PutRecords request is refused when its JSON body is over the limit."""
    if len(raw) > MAX_PUT_BODY_BYTES:
        raise V3ioFailure(413, -27, f"PutRecords body of {len(raw):,} bytes is over the limit of "
                                    f"{MAX_PUT_BODY_BYTES:,} bytes")


def _oversize(record: dict[str, Any]) -> str | None:
    """Why ``record`` is over a per-record limit, if it is."""
    data = record.get("Data")
    if isinstance(data, str):
        size = len(data) // 4 * 3 - len(data[-2:]) + len(data[-2:].rstrip("="))
        if size > MAX_RECORD_DATA_BYTES:
            return f"record data of {size:,} bytes is over the limit of {MAX_RECORD_DATA_BYTES:,} bytes"
    key = record.get("PartitionKey")
    if isinstance(key, str) and len(key.encode()) > MAX_PARTITION_KEY_BYTES:
        return f"partition key of {len(key.encode())} bytes is over the limit of {MAX_PARTITION_KEY_BYTES} bytes"
    return None


def _positive_int(body: dict[str, Any], name: str, default: int | None = None) -> int:
    value = body.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise V3ioFailure(400, -22, f"{name} must be a positive integer, got {value!r}")
    return value


def create_stream(store: Store, path: str, body: dict[str, Any]) -> None:
    """CreateStream: 204 when created, 409 (EEXIST) when anything is already at ``path``."""
    shards = _positive_int(body, "ShardCount")
    retention = _positive_int(body, "RetentionPeriodHours", 24)
    if store.exists(path) or any(p.startswith(path + "/") for p, _, _ in store.entries()):
        raise V3ioFailure(409, -17, f"File exists: {path}")
    store.streams[path] = StreamNode(retention_hours=retention, shards=[Shard() for _ in range(shards)])


def describe_stream(store: Store, path: str, body: dict[str, Any]) -> dict[str, Any]:
    stream = store.stream(path)
    return {"ShardCount": len(stream.shards), "RetentionPeriodHours": stream.retention_hours}


def update_stream(store: Store, path: str, body: dict[str, Any]) -> None:
    """UpdateStream: shards can only be added."""
    stream = store.stream(path)
    count = _positive_int(body, "ShardCount")
    if count < len(stream.shards):
        raise V3ioFailure(400, -22, f"cannot reduce the shard count from {len(stream.shards)} to {count}")
    stream.shards.extend(Shard() for _ in range(count - len(stream.shards)))


def shard_for_key(key: str, shard_count: int) -> int:
    """Records with the same partition key go to the same shard (a stable hash)."""
    return zlib.crc32(key.encode()) % shard_count


def put_records(store: Store, path: str, body: dict[str, Any], faults: RecordFaults | None = None) -> dict[str, Any]:
    """PutRecords: each record succeeds or fails on its own (``faults`` injects failures, for tests).

    A request of more than 1,000 records is refused whole; a record over a per-record limit fails on its
    own or refuses the request, as ``store.oversize_shape`` says.
    """
    stream = store.stream(path)
    records = body.get("Records")
    if not isinstance(records, list) or not records:
        raise V3ioFailure(400, -22, "Records must be a non-empty list")
    if len(records) > MAX_RECORDS_PER_PUT:
        raise V3ioFailure(400, -22, f"at most {MAX_RECORDS_PER_PUT} records per PutRecords, got {len(records)}")
    too_large = [(index, why) for index, record in enumerate(records) if (why := _oversize(record)) is not None]
    if too_large and store.oversize_shape == "request":
        index, why = too_large[0]
        raise V3ioFailure(400, -22, f"InvalidArgumentException: record {index}: {why}")
    refused = dict(too_large)
    store.trim(stream)
    results: list[dict[str, Any]] = []
    failed = 0
    now = store.clock_ns()
    for index, record in enumerate(records):
        shard_id = record.get("ShardId")
        if shard_id is None:
            key = record.get("PartitionKey")
            shard_id = shard_for_key(key, len(stream.shards)) if key else next(_round_robin) % len(stream.shards)
        if index in refused:
            failed += 1
            results.append({"ErrorCode": -22, "ErrorMessage": f"InvalidArgumentException: {refused[index]}"})
            continue
        if faults is not None and faults.refuses(index, record.get("Data", "")):
            failed += 1
            results.append({"ErrorCode": -11, "ErrorMessage": "Resource temporarily unavailable (throttled)"})
            continue
        if not isinstance(shard_id, int) or not 0 <= shard_id < len(stream.shards) or "Data" not in record:
            failed += 1
            results.append({"ErrorCode": -22, "ErrorMessage": f"invalid record: shard {shard_id!r}"})
            continue
        shard = stream.shards[shard_id]
        shard.last_sequence += 1
        shard.records.append(StoredRecord(shard.last_sequence, record["Data"], record.get("PartitionKey"),
                                          record.get("ClientInfo"), now))
        results.append({"SequenceNumber": shard.last_sequence, "ShardId": shard_id})
    return {"FailedRecordCount": failed, "Records": results}


def _shard(store: Store, path: str) -> Shard:
    """The shard at ``path``, with records past the stream's retention already purged."""
    shard = store.shard_of(path)
    if shard is None:
        raise not_found(path)
    store.trim(store.stream(path.rpartition("/")[0]))
    return shard


def _location(sequence: int) -> str:
    return base64.b64encode(json.dumps({"seq": sequence}).encode()).decode()


def _sequence_of(location: Any) -> int:
    try:
        return int(json.loads(base64.b64decode(location))["seq"])
    except (ValueError, TypeError, KeyError):
        raise V3ioFailure(400, -22, f"invalid Location {location!r}") from None


def seek_shard(store: Store, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """SeekShard: a location for EARLIEST, LATEST, SEQUENCE (must exist) or TIME (first arrival >= time)."""
    shard = _shard(store, path)
    kind = body.get("Type")
    if kind == "EARLIEST":
        sequence = shard.first_sequence()
    elif kind == "LATEST":
        sequence = shard.last_sequence + 1
    elif kind == "SEQUENCE":
        sequence = body.get("StartingSequenceNumber")
        if not isinstance(sequence, int) or not shard.records or \
                not shard.records[0].sequence <= sequence <= shard.last_sequence:
            raise V3ioFailure(400, -22, f"sequence number {sequence!r} not found in shard")
    elif kind == "TIME":
        at_ns = int(body.get("TimestampSec", 0)) * 10**9 + int(body.get("TimestampNSec", 0))
        sequence = next((r.sequence for r in shard.records if r.arrival_ns >= at_ns), shard.last_sequence + 1)
    else:
        raise V3ioFailure(400, -22, f"unknown seek Type {kind!r}")
    return {"Location": _location(sequence)}


def get_records(store: Store, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """GetRecords: up to ``Limit`` records from ``Location``, and the location after them."""
    shard = _shard(store, path)
    sequence = max(_sequence_of(body.get("Location")), shard.first_sequence())
    limit = int(body.get("Limit") or 1000)
    start = sequence - shard.first_sequence()
    chosen = shard.records[start:start + limit] if start >= 0 else []
    out = []
    for record in chosen:
        item: dict[str, Any] = {
            "SequenceNumber": record.sequence,
            "Data": record.data,
            "ArrivalTimeSec": record.arrival_ns // 10**9,
            "ArrivalTimeNSec": record.arrival_ns % 10**9,
        }
        if record.partition_key is not None:
            item["PartitionKey"] = record.partition_key
        if record.client_info is not None:
            item["ClientInfo"] = record.client_info
        out.append(item)
    next_sequence = chosen[-1].sequence + 1 if chosen else sequence
    behind = shard.last_sequence - next_sequence + 1
    return {"NextLocation": _location(next_sequence), "Records": out, "RecordsBehindLatest": max(behind, 0),
            "MSecBehindLatest": 0}
