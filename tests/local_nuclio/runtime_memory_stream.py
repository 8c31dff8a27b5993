"""An in-memory :class:`~modelmon.backends.base.Stream` for in-process runtime tests."""

from __future__ import annotations

import threading
import zlib
from collections.abc import Sequence

from modelmon.backends.base import OutRecord, Record, SeekTo, StreamInfo
from modelmon.core.errors import NotFound


class MemoryStream:
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
