"""An ``ObjectStore`` held in memory: where ``App.evaluate`` and batch drift analysis keep artifacts.

Nothing is persisted: the objects live as long as the store does, which is what a local evaluation
on DataFrames wants (no home directory, no cleanup).

>>> store = InMemoryObjectStore()
>>> store.put_object("a/b.txt", b"hi")
>>> store.list_objects("a/")
['a/b.txt']
"""

from __future__ import annotations

from modelmon.core.errors import NotFound


class InMemoryObjectStore:
    """An ``ObjectStore`` held in a dict; ``objects`` maps each path to its bytes."""

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
