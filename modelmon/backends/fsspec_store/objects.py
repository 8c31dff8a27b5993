"""The ObjectStore role on an fsspec file system: named blobs under ``<root>/objects/``.

Paths follow the local backend's rules (relative, '/'-separated, no '.', '..' or empty segments, no segment
starting with '.', which temp files use), so a path means the same file on every backend. A listing of
``prefix`` lists only the folder the prefix points into (on S3 one key-prefix listing), never the bucket.
"""

from __future__ import annotations

from modelmon.backends.base import check_object_path
from modelmon.backends.fsspec_store.folder import Folder

OBJECTS_FOLDER = "objects"


class FsspecObjectStore:
    """Blobs as files (or S3 objects) of one folder; writes are whole for every reader."""

    def __init__(self, folder: Folder) -> None:
        self._folder = folder

    def put_object(self, path: str, data: bytes) -> None:
        rel = check_object_path(path)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"object {path!r}: data must be bytes, not {type(data).__name__}")
        self._folder.put(rel, bytes(data), f"put object {path!r}")

    def get_object(self, path: str) -> bytes:
        """The blob; ``NotFound`` if missing."""
        return self._folder.get(check_object_path(path), f"object {path!r}")

    def list_objects(self, prefix: str) -> list[str]:
        """Paths starting with ``prefix``, sorted."""
        if not isinstance(prefix, str):
            raise ValueError(f"object prefix must be a string, not {prefix!r}")
        if prefix:
            check_object_path(prefix.rstrip("/") or "x")  # the same checks as a path
        directory = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        found = self._folder.find(directory, f"list objects {prefix!r}")
        return [rel for rel in found if rel.startswith(prefix)]

    def delete_object(self, path: str) -> None:
        self._folder.delete(check_object_path(path), f"delete object {path!r}")

    def close(self) -> None:
        """Nothing to release: the file system's connections close with the process."""
