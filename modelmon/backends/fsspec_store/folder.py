"""One folder of an fsspec file system, as both stores use it: relative '/'-separated paths, whole writes.

A write is seen whole or not at all by readers, whatever the file system: an object store publishes a PUT
at once; a local folder gets a hidden temp file, renamed (the local backend's
:func:`~modelmon.backends.local.files.write_atomically`, fsync'd first unless ``sync=False``); any other
file system a hidden temp file moved over the target. A process killed mid-write therefore leaves at most
a hidden temp file, which listings skip (no path segment of a stored file starts with '.').
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import posixpath
import uuid
from collections.abc import Sequence
from typing import Any

from modelmon.backends.fsspec_store.calls import FsCalls, bucket_missing
from modelmon.backends.fsspec_store.location import S3_PROTOCOLS, Location
from modelmon.backends.local.files import TEMP_PREFIX, write_atomically


class Folder:
    """Files under ``<location root>/<name>``; every call goes through ``calls`` (retries, errors)."""

    def __init__(self, location: Location, name: str, calls: FsCalls) -> None:
        self.location = location
        self.base = f"{location.root}/{name}"
        self.calls = calls
        # s3fs asks an object's size first (a HEAD) to fetch a big one in concurrent ranges; sample files and
        # artifacts are small, so one GET each
        self._read_options = {"max_concurrency": 1} if location.protocol in S3_PROTOCOLS else {}

    @property
    def _fs(self) -> Any:
        return self.location.fs

    def path(self, rel: str) -> str:
        """The file system's path of ``rel`` (relative to this folder, already checked by the caller)."""
        return f"{self.base}/{rel}" if rel else self.base

    def put(self, rel: str, data: bytes, what: str, *, sync: bool = True) -> None:
        """Store ``data`` as ``rel``, replacing it whole.

        ``sync=False`` skips a local folder's fsync before the rename, as the local backend does for sample
        files: a power cut may then lose the newest ones, a crash of the process never makes them partial.
        """
        target = self.path(rel)
        if self.location.is_local:
            self.calls.call(what, lambda: write_atomically(pathlib.Path(target), data, sync=sync))
        elif self.location.whole_writes:
            self.calls.call(what, lambda: self._fs.pipe_file(target, data))
        else:
            self.calls.call(what, lambda: self._put_by_move(target, data))

    def _put_by_move(self, target: str, data: bytes) -> None:
        parent, name = posixpath.split(target)
        temp = f"{parent}/{TEMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}-{name}"
        self._fs.makedirs(parent, exist_ok=True)
        try:
            self._fs.pipe_file(temp, data)
            self._fs.mv(temp, target)
        except BaseException:
            with contextlib.suppress(Exception):  # best effort: a leftover temp file is hidden from listings
                self._fs.rm_file(temp)
            raise

    def get(self, rel: str, what: str) -> bytes:
        """The bytes of ``rel``; ``NotFound`` ("<what> does not exist") if there is no such file."""
        return bytes(self.calls.call(what, lambda: self._fs.cat_file(self.path(rel), **self._read_options)))

    def get_many(self, rels: Sequence[str], what: str) -> dict[str, bytes]:
        """The bytes of each of ``rels`` that exists (one that vanished since it was listed is left out).

        One call for all: a remote file system fetches them concurrently.
        """
        if not rels:
            return {}
        paths = [self.path(rel) for rel in rels]

        def fetch() -> dict[str, bytes]:
            # cat_ranges, not cat: cat first checks each path (a HEAD per file on S3) before fetching it
            got = self._fs.cat_ranges(paths, None, None, on_error="return", **self._read_options)
            found = {}
            for rel, value in zip(rels, got, strict=True):
                if isinstance(value, FileNotFoundError) and not bucket_missing(value):
                    continue  # removed by a re-append of its batch since the listing: not an error
                if isinstance(value, BaseException):
                    raise value
                found[rel] = bytes(value)
            return found

        return self.calls.call(what, fetch)

    def find(self, rel_dir: str, what: str) -> list[str]:
        """Every file under ``rel_dir`` (recursively), relative to this folder, sorted; hidden ones left out.

        On an object store this is one listing of the key prefix ``<rel_dir>/`` (paged by the store).
        """
        start = self.path(rel_dir)
        if self.location.protocol in S3_PROTOCOLS:
            # s3fs lists "<parent>/<name>/" given as a prefix without the existence check (a HEAD and a second
            # listing) its find makes when a folder holds nothing, as most hours of a read do
            parent, name = start.rsplit("/", 1) if "/" in start else (start, "")
            found = self.calls.call(what, lambda: self._fs.find(parent, prefix=f"{name}/" if name else ""),
                                    missing=list)
        elif self.location.is_local:
            # os.walk reads each folder once; fsspec's find also stats every file, 10 times slower
            found = self.calls.call(what, lambda: _walk(start), missing=list)
        else:
            found = self.calls.call(what, lambda: self._fs.find(start), missing=list)
        return sorted(rel for rel in (self._relative(p) for p in found) if rel is not None)

    def subfolders(self, rel_dir: str, what: str) -> list[str]:
        """The names of the folders directly in ``rel_dir`` (one delimited listing on an object store)."""
        start = self.path(rel_dir)
        entries = self.calls.call(what, lambda: self._fs.ls(start, detail=True), missing=list)
        names = (posixpath.basename(str(e["name"]).rstrip("/")) for e in entries if e.get("type") == "directory")
        return sorted(n for n in names if n and not n.startswith("."))

    def delete(self, rel: str, what: str) -> None:
        """Remove ``rel``; a file already gone is not an error."""
        self.calls.call(what, lambda: self._fs.rm_file(self.path(rel)), missing=lambda: None)

    def _relative(self, path: str) -> str | None:
        """``path`` relative to this folder, or None for a hidden file (a temp file) or one outside it."""
        prefix = self.base + "/"
        if not path.startswith(prefix):
            path = self._fs._strip_protocol(path)
            if not path.startswith(prefix):
                return None
        rel = path[len(prefix):]
        return None if not rel or any(part.startswith(".") for part in rel.split("/")) else rel


def _walk(start: str) -> list[str]:
    """Every file under the local folder ``start`` as a '/'-joined path (none if it does not exist)."""
    return [f"{folder}/{name}" for folder, _, names in os.walk(start) for name in names]

