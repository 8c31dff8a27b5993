"""Local streams: shards of sequence-numbered records in the store's SQLite file.

A ``put_records`` call is cut into V3IO's PutRecords requests (:func:`~modelmon.backends.base.put_requests`:
at most 1,000 records and 10 MB each, no record over 1 MB), so a test on this backend meets production's
limits. Each request is one transaction that writes, per shard, one chunk row holding its records
(``chunk.py``) and advances the shard's ``next_seq``: a request is visible whole or not at all, and a
failure after some requests were committed is a :class:`~modelmon.backends.base.PutIncomplete`.
Expired chunks are purged lazily by puts and are invisible to reads before that.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import hashlib
import sqlite3
import threading
from collections.abc import Callable, Sequence

from modelmon.backends.base import OutRecord, PutIncomplete, Record, SeekTo, StreamInfo, put_requests
from modelmon.backends.local import chunk
from modelmon.backends.local.database import Database
from modelmon.core.errors import NotFound
from modelmon.core.timeutil import now_ms

HOUR_MS = 3_600_000
_CACHED_CHUNKS = 16


@functools.lru_cache(maxsize=65536)  # a batch repeats a few keys (endpoint ids) many times
def shard_for_key(partition_key: str, shards: int) -> int:
    """The shard of ``partition_key``: MD5 ranges split evenly, as Kinesis does; same in every process.

    >>> shard_for_key("endpoint-1", 4) == shard_for_key("endpoint-1", 4)
    True
    """
    digest = int.from_bytes(hashlib.md5(partition_key.encode(), usedforsecurity=False).digest(), "big")
    return (digest * shards) >> 128


@dataclasses.dataclass(frozen=True)
class _Meta:
    id: int
    shards: int
    retention_hours: int


class LocalStream:
    """The :class:`~modelmon.backends.base.Stream` role on a :class:`Database`."""

    def __init__(self, db: Database, clock: Callable[[], int] = now_ms) -> None:
        self._db = db
        self._clock = clock
        self._meta: dict[str, _Meta] = {}
        self._chunks: collections.OrderedDict[tuple[int, int, int], tuple[list[str | None], list[bytes]]]
        self._chunks = collections.OrderedDict()
        self._cache_lock = threading.Lock()

    def create(self, path: str, shards: int = 1, retention_hours: int = 24) -> bool:
        _check_path(path)
        if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
            raise ValueError(f"stream {path!r}: shards must be a whole number >= 1, got {shards!r}")
        if isinstance(retention_hours, bool) or not isinstance(retention_hours, int) or retention_hours < 1:
            raise ValueError(f"stream {path!r}: retention_hours must be a whole number >= 1, got {retention_hours!r}")

        def txn(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "INSERT OR IGNORE INTO streams (path, shards, retention_hours, created_ms) VALUES (?, ?, ?, ?)",
                (path, shards, retention_hours, self._clock()),
            )
            if cur.rowcount == 0:
                return False
            conn.executemany(
                "INSERT INTO stream_shards (stream_id, shard, next_seq) VALUES (?, ?, 1)",
                [(cur.lastrowid, shard) for shard in range(shards)],
            )
            return True

        return self._db.write(txn)

    def describe(self, path: str) -> StreamInfo:
        meta = self._lookup(path)
        return StreamInfo(shards=meta.shards, retention_hours=meta.retention_hours)

    def put_records(self, path: str, records: Sequence[OutRecord]) -> list[tuple[int, int]]:
        meta = self._lookup(path)
        if not records:
            return []
        routes = [self._route(path, meta, record, i) for i, record in enumerate(records)]
        requests = put_requests(path, records)
        if len(requests) == 1:
            return self._put_request(meta, records, routes, requests[0])
        placed: list[tuple[int, int] | None] = [None] * len(records)
        for request in requests:
            try:
                placed[request.start:request.stop] = self._put_request(meta, records, routes, request)
            except Exception as exc:
                if request.start == 0:
                    raise
                raise PutIncomplete.after(path, placed, exc) from exc
        return [p for p in placed if p is not None]

    def _put_request(self, meta: _Meta, records: Sequence[OutRecord], routes: Sequence[int],
                     request: range) -> list[tuple[int, int]]:
        """One request's records (``records[request]``) in one transaction; their positions, in order."""
        by_shard: dict[int, list[int]] = {}
        for i in request:
            by_shard.setdefault(routes[i], []).append(i)
        blobs = {
            shard: chunk.encode([records[i].data for i in idxs], [records[i].partition_key for i in idxs])
            for shard, idxs in by_shard.items()
        }

        def txn(conn: sqlite3.Connection) -> list[tuple[int, int]]:
            now = self._clock()
            conn.execute(
                "DELETE FROM stream_chunks WHERE stream_id = ? AND arrival_ms < ?",
                (meta.id, now - meta.retention_hours * HOUR_MS),
            )
            out: list[tuple[int, int]] = [(0, 0)] * len(request)
            for shard, idxs in by_shard.items():
                (first,) = conn.execute(
                    "SELECT next_seq FROM stream_shards WHERE stream_id = ? AND shard = ?", (meta.id, shard)
                ).fetchone()
                last = first + len(idxs) - 1
                conn.execute(
                    "INSERT INTO stream_chunks (stream_id, shard, first_seq, last_seq, arrival_ms, payload)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (meta.id, shard, first, last, now, blobs[shard]),
                )
                conn.execute(
                    "UPDATE stream_shards SET next_seq = ? WHERE stream_id = ? AND shard = ?",
                    (last + 1, meta.id, shard),
                )
                for offset, i in enumerate(idxs):
                    out[i - request.start] = (shard, first + offset)
            return out

        return self._db.write(txn)

    def seek(self, path: str, shard: int, to: SeekTo, value: int | None = None) -> int:
        meta = self._lookup(path)
        _check_shard(path, meta, shard)
        to = SeekTo(to)
        if to is SeekTo.SEQUENCE:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"seek to SEQUENCE needs a sequence number >= 1, got {value!r}")
            return value
        if to is SeekTo.TIME and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError(f"seek to TIME needs an epoch-ms int, got {value!r}")
        cutoff = self._cutoff(meta)
        since = max(cutoff, value) if to is SeekTo.TIME and value is not None else cutoff

        def txn(conn: sqlite3.Connection) -> int:
            if to is not SeekTo.LATEST:
                row = conn.execute(
                    "SELECT first_seq FROM stream_chunks WHERE stream_id = ? AND shard = ? AND arrival_ms >= ?"
                    " ORDER BY last_seq LIMIT 1",
                    (meta.id, shard, since),
                ).fetchone()
                if row is not None:
                    return int(row[0])
            return _next_seq(conn, meta, shard)

        return self._db.read(txn)

    def read(self, path: str, shard: int, sequence: int, limit: int = 1000) -> list[Record]:
        meta = self._lookup(path)
        _check_shard(path, meta, shard)
        if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 1:
            raise ValueError(f"read needs a sequence number >= 1, got {sequence!r}")
        if limit < 1:
            raise ValueError(f"read limit must be >= 1, got {limit!r}")
        cutoff = self._cutoff(meta)

        def txn(conn: sqlite3.Connection) -> list[Record]:
            out: list[Record] = []
            rows = conn.execute(
                "SELECT rowid, first_seq, last_seq, arrival_ms FROM stream_chunks"
                " WHERE stream_id = ? AND shard = ? AND last_seq >= ? AND arrival_ms >= ? ORDER BY last_seq",
                (meta.id, shard, sequence, cutoff),
            )
            for rowid, first, last, arrival in rows:
                keys, data = self._chunk(conn, (meta.id, shard, first), rowid)
                start = max(sequence, first) - first
                stop = min(last - first + 1, start + limit - len(out))
                out.extend(
                    Record(shard, first + i, data[i], keys[i], arrival) for i in range(start, stop)
                )
                if len(out) >= limit:
                    break
            return out

        return self._db.read(txn)

    def commit(self, path: str, group: str, shard: int, sequence: int) -> None:
        meta = self._lookup(path)
        _check_shard(path, meta, shard)
        if not isinstance(group, str) or not group:
            raise ValueError(f"consumer group must be a non-empty string, got {group!r}")
        if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 1:
            raise ValueError(f"committed sequence must be >= 1, got {sequence!r}")
        self._db.write(
            lambda conn: conn.execute(
                "INSERT INTO stream_offsets (stream_id, grp, shard, sequence) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (stream_id, grp, shard) DO UPDATE SET sequence = excluded.sequence",
                (meta.id, group, shard, sequence),
            )
        )

    def committed(self, path: str, group: str, shard: int) -> int | None:
        meta = self._lookup(path)
        _check_shard(path, meta, shard)
        row = self._db.read(
            lambda conn: conn.execute(
                "SELECT sequence FROM stream_offsets WHERE stream_id = ? AND grp = ? AND shard = ?",
                (meta.id, group, shard),
            ).fetchone()
        )
        return None if row is None else row[0]

    def close(self) -> None:
        self._db.close()

    # ---------------------------------------------------------------------------------- internals
    def _lookup(self, path: str) -> _Meta:
        meta = self._meta.get(path)
        if meta is not None:
            return meta
        _check_path(path)
        row = self._db.read(
            lambda conn: conn.execute(
                "SELECT id, shards, retention_hours FROM streams WHERE path = ?", (path,)
            ).fetchone()
        )
        if row is None:
            raise NotFound(f"stream {path!r} does not exist")
        meta = self._meta[path] = _Meta(*row)
        return meta

    def _route(self, path: str, meta: _Meta, record: OutRecord, index: int) -> int:
        if not isinstance(record, OutRecord) or not isinstance(record.data, bytes | bytearray):
            raise TypeError(f"record {index} for stream {path!r} must be an OutRecord with bytes data")
        if record.shard is not None:
            _check_shard(path, meta, record.shard)
            return record.shard
        if record.partition_key is not None:
            return shard_for_key(record.partition_key, meta.shards)
        return index % meta.shards if meta.shards > 1 else 0

    def _cutoff(self, meta: _Meta) -> int:
        return self._clock() - meta.retention_hours * HOUR_MS

    def _chunk(
        self, conn: sqlite3.Connection, key: tuple[int, int, int], rowid: int
    ) -> tuple[list[str | None], list[bytes]]:
        """A decoded chunk; chunks never change once written, so recent ones are cached."""
        with self._cache_lock:
            hit = self._chunks.get(key)
            if hit is not None:
                self._chunks.move_to_end(key)
                return hit
        (payload,) = conn.execute("SELECT payload FROM stream_chunks WHERE rowid = ?", (rowid,)).fetchone()
        decoded = chunk.decode(payload)
        with self._cache_lock:
            self._chunks[key] = decoded
            while len(self._chunks) > _CACHED_CHUNKS:
                self._chunks.popitem(last=False)
        return decoded


def _next_seq(conn: sqlite3.Connection, meta: _Meta, shard: int) -> int:
    (value,) = conn.execute(
        "SELECT next_seq FROM stream_shards WHERE stream_id = ? AND shard = ?", (meta.id, shard)
    ).fetchone()
    return int(value)


def _check_path(path: str) -> None:
    if not isinstance(path, str) or not path.strip():
        raise ValueError(f"stream path must be a non-empty string, got {path!r}")


def _check_shard(path: str, meta: _Meta, shard: int) -> None:
    if isinstance(shard, bool) or not isinstance(shard, int) or not 0 <= shard < meta.shards:
        raise ValueError(f"stream {path!r} has shards 0..{meta.shards - 1}, got shard {shard!r}")
