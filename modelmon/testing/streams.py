"""Streams for tests: an in-memory ``Stream`` and a reader of everything put on a stream.

>>> streams = MemoryStream()
>>> streams.create("s", shards=2)
True
>>> streams.put_records("s", [OutRecord(b"a", shard=0), OutRecord(b"b", shard=1)])
[(0, 1), (1, 1)]
>>> [r.data for r in stream_records(streams, "s")]
[b'a', b'b']
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Sequence

from modelmon.backends.base import OutRecord, Record, SeekTo, Stream, StreamInfo
from modelmon.core.errors import NotFound


class MemoryStream:
    """A thread-safe ``Stream`` in memory, for in-process runtime tests that need no backend.

    Simplified where tests do not look: retention is not enforced, every arrival time is 0, and any
    seek other than ``EARLIEST`` goes to the end of the shard.
    """

    def __init__(self) -> None:
        self._shards: dict[str, list[list[Record]]] = {}
        self._offsets: dict[tuple[str, str, int], int] = {}
        self._lock = threading.Lock()

    def create(self, path: str, shards: int = 1, retention_hours: int = 24) -> bool:
        with self._lock:
            if path in self._shards:
                return False
            self._shards[path] = [[] for _ in range(shards)]
            return True

    def describe(self, path: str) -> StreamInfo:
        return StreamInfo(shards=len(self._get(path)), retention_hours=24)

    def put_records(self, path: str, records: Sequence[OutRecord]) -> list[tuple[int, int]]:
        with self._lock:
            shards = self._get(path)
            out = []
            for rec in records:
                shard = rec.shard if rec.shard is not None else zlib.crc32((rec.partition_key or "").encode()) % len(
                    shards)
                seq = len(shards[shard]) + 1
                shards[shard].append(Record(shard, seq, rec.data, rec.partition_key, 0))
                out.append((shard, seq))
            return out

    def seek(self, path: str, shard: int, to: SeekTo, value: int | None = None) -> int:
        records = self._get(path)[shard]
        return 1 if to == SeekTo.EARLIEST else len(records) + 1

    def read(self, path: str, shard: int, sequence: int, limit: int = 1000) -> list[Record]:
        with self._lock:
            return self._get(path)[shard][max(0, sequence - 1) : max(0, sequence - 1) + limit]

    def commit(self, path: str, group: str, shard: int, sequence: int) -> None:
        self._offsets[(path, group, shard)] = sequence

    def committed(self, path: str, group: str, shard: int) -> int | None:
        return self._offsets.get((path, group, shard))

    def _get(self, path: str) -> list[list[Record]]:
        if path not in self._shards:
            raise NotFound(f"no stream {path}")
        return self._shards[path]


def stream_records(streams: Stream, path: str) -> list[Record]:
    """Every record on ``path``, shard by shard from the earliest: what a test checks was sent.

    ``NotFound`` if there is no such stream.
    """
    records: list[Record] = []
    for shard in range(streams.describe(path).shards):
        sequence = streams.seek(path, shard, SeekTo.EARLIEST)
        while batch := streams.read(path, shard, sequence):
            records += batch
            sequence = batch[-1].sequence + 1
    return records
