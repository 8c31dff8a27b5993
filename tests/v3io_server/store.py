"""The in-memory state of the test V3IO server: objects, KV items and streams, keyed by "<container>/<path>".

It outlives the HTTP listener, so a "restart" (stop, start on the same port) keeps every record and item,
as a real platform does. All methods are called with :attr:`Store.lock` held by the server.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any


class V3ioFailure(Exception):
    """An error answer: HTTP status plus V3IO's ``ErrorCode`` (negative errno-like) and message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> bytes:
        """The error-information object the web API answers with (``ErrorCode``, ``ErrorMessage``)."""
        return json.dumps({"ErrorCode": self.code, "ErrorMessage": self.message}).encode()


def not_found(path: str) -> V3ioFailure:
    return V3ioFailure(404, -2, f"No such file or directory: {path}")


@dataclasses.dataclass
class StoredRecord:
    sequence: int
    data: str  # base64, as received
    partition_key: str | None
    client_info: str | None
    arrival_ns: int


@dataclasses.dataclass
class Shard:
    records: list[StoredRecord] = dataclasses.field(default_factory=list)
    last_sequence: int = 0
    attrs: dict[str, Any] = dataclasses.field(default_factory=dict)

    def first_sequence(self) -> int:
        """The oldest retained sequence number, or the next one if the shard is empty."""
        return self.records[0].sequence if self.records else self.last_sequence + 1

    def system_attrs(self) -> dict[str, Any]:
        return {"__obj_type": 3, "__last_sequence_num": self.last_sequence}


@dataclasses.dataclass
class StreamNode:
    retention_hours: int
    shards: list[Shard]


class Store:
    """Everything the server holds; ``clock_ns`` can be replaced to test retention and TIME seeks."""

    def __init__(self, clock_ns: Callable[[], int] = time.time_ns) -> None:
        self.lock = threading.RLock()
        self.clock_ns = clock_ns
        self.objects: dict[str, bytes] = {}
        self.items: dict[str, dict[str, Any]] = {}
        self.streams: dict[str, StreamNode] = {}
        self._last_mtime_ns = 0
        #: How a false ConditionExpression is answered (``kv_functions.CONDITION_FALSE_SHAPES``).
        self.condition_false_shape = "flat"
        #: How a PutRecords record over a per-record limit is answered (``stream_functions.OVERSIZE_SHAPES``).
        self.oversize_shape = "record"

    # ------------------------------------------------------------------------------- lookups
    def shard_of(self, path: str) -> Shard | None:
        """The shard addressed by ``<stream>/<id>``, if ``path`` names one."""
        parent, _, leaf = path.rpartition("/")
        stream = self.streams.get(parent)
        if stream is None or not leaf.isdigit():
            return None
        index = int(leaf)
        return stream.shards[index] if index < len(stream.shards) else None

    def stream(self, path: str) -> StreamNode:
        stream = self.streams.get(path)
        if stream is None:
            raise not_found(path)
        return stream

    def exists(self, path: str) -> bool:
        return path in self.objects or path in self.items or path in self.streams or self.shard_of(path) is not None

    def next_mtime_ns(self) -> int:
        """A strictly increasing modification time, so transaction verifiers always change."""
        self._last_mtime_ns = max(self.clock_ns(), self._last_mtime_ns + 1)
        return self._last_mtime_ns

    # ------------------------------------------------------------------------------- listing
    def entries(self) -> Iterator[tuple[str, int, int | None]]:
        """Every file-like path with its size and, for shards, the last sequence number."""
        for path, body in self.objects.items():
            yield path, len(body), None
        for path in self.items:
            if path not in self.objects:
                yield path, 0, None
        for path, stream in self.streams.items():
            for index, shard in enumerate(stream.shards):
                yield f"{path}/{index}", 0, shard.last_sequence

    def list_dir(self, directory: str) -> tuple[list[tuple[str, int, int | None]], list[str]]:
        """Files directly under ``directory`` (``"c/a/b/"``) and its sub-directories, both sorted."""
        files: dict[str, tuple[str, int, int | None]] = {}
        dirs: set[str] = set()
        for path, size, last in self.entries():
            if not path.startswith(directory):
                continue
            rest = path[len(directory):]
            head, sep, _ = rest.partition("/")
            if sep:
                dirs.add(directory + head + "/")
            else:
                files[path] = (path, size, last)
        for path in self.streams:  # a stream is a directory even before its shards are listed
            if path.startswith(directory) and "/" not in path[len(directory):]:
                dirs.add(path + "/")
        return [files[k] for k in sorted(files)], sorted(dirs)

    # ------------------------------------------------------------------------------- retention
    def trim(self, stream: StreamNode) -> None:
        """Drop records older than the retention period, as the platform does when records are added."""
        horizon = self.clock_ns() - stream.retention_hours * 3600 * 10**9
        for shard in stream.shards:
            keep = 0
            while keep < len(shard.records) and shard.records[keep].arrival_ns < horizon:
                keep += 1
            if keep:
                del shard.records[:keep]
