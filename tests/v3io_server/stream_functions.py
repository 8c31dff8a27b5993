"""The streaming web-API functions: CreateStream, DescribeStream, UpdateStream, PutRecords, SeekShard, GetRecords."""

from __future__ import annotations

import base64
import itertools
import json
import zlib
from typing import Any

from v3io_server.store import Shard, Store, StoredRecord, StreamNode, V3ioFailure, not_found

MAX_RECORDS_PER_PUT = 1000
_round_robin = itertools.count()


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


def put_records(store: Store, path: str, body: dict[str, Any], rejected: set[int] | None = None) -> dict[str, Any]:
    """PutRecords: each record succeeds or fails on its own; ``rejected`` indexes fail as throttled (tests)."""
    stream = store.stream(path)
    records = body.get("Records")
    if not isinstance(records, list) or not records:
        raise V3ioFailure(400, -22, "Records must be a non-empty list")
    if len(records) > MAX_RECORDS_PER_PUT:
        raise V3ioFailure(400, -22, f"at most {MAX_RECORDS_PER_PUT} records per PutRecords, got {len(records)}")
    store.trim(stream)
    results: list[dict[str, Any]] = []
    failed = 0
    now = store.clock_ns()
    for index, record in enumerate(records):
        shard_id = record.get("ShardId")
        if shard_id is None:
            key = record.get("PartitionKey")
            shard_id = shard_for_key(key, len(stream.shards)) if key else next(_round_robin) % len(stream.shards)
        if rejected and index in rejected:
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
