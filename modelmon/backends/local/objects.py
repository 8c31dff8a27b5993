"""Named blobs as plain files under ``<home>/objects/``, written atomically (temp file + rename)."""

from __future__ import annotations

import os
import pathlib

from modelmon.backends.base import check_object_path
from modelmon.backends.local.files import write_atomically
from modelmon.core.errors import NotFound


class LocalObjectStore:
    """The ``ObjectStore`` role on a directory. Paths are relative, '/'-separated, and stay inside it."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = pathlib.Path(root)

    def put_object(self, path: str, data: bytes) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"object {path!r}: data must be bytes, not {type(data).__name__}")
        write_atomically(self._file(path), bytes(data))

    def get_object(self, path: str) -> bytes:
        file = self._file(path)
        try:
            return file.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFound(f"object {path!r} does not exist") from None

    def list_objects(self, prefix: str) -> list[str]:
        if prefix:
            self._file(prefix.rstrip("/") or "x")  # same checks as a path
        base = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        if not base.is_dir():
            return []
        found = []
        for dirpath, _, filenames in os.walk(base):
            for name in filenames:
                if name.startswith("."):
                    continue  # temp files of writes in progress
                rel = pathlib.Path(dirpath, name).relative_to(self.root).as_posix()
                if rel.startswith(prefix):
                    found.append(rel)
        return sorted(found)

    def delete_object(self, path: str) -> None:
        file = self._file(path)
        try:
            file.unlink()
        except (FileNotFoundError, IsADirectoryError):
            return

    def close(self) -> None:
        """Nothing to release: every call opens and closes its own files."""

    def _file(self, path: str) -> pathlib.Path:
        return self.root.joinpath(*check_object_path(path).split("/"))
