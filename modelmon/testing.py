"""Fakes for tests and notebooks: collaborators that need no backend.

>>> store = InMemoryObjectStore()
>>> store.put_object("a/b.txt", b"hi")
>>> store.list_objects("a/")
['a/b.txt']
"""

from __future__ import annotations

from modelmon.backends.base import Record, SeekTo, Stream
from modelmon.core.errors import NotFound


class InMemoryObjectStore:
    """An ``ObjectStore`` held in a dict (artifacts of ``App.evaluate`` and of tests)."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put_object(self, path: str, data: bytes) -> None:
        if not isinstance(data, bytes):
            raise TypeError(f"object {path!r}: data must be bytes, got {type(data).__name__}")
        self.objects[path] = data

    def get_object(self, path: str) -> bytes:
        try:
            return self.objects[path]
        except KeyError:
            raise NotFound(f"no object {path!r}") from None

    def list_objects(self, prefix: str) -> list[str]:
        return sorted(path for path in self.objects if path.startswith(prefix))

    def delete_object(self, path: str) -> None:
        self.objects.pop(path, None)


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
