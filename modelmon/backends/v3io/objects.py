"""The ObjectStore role on V3IO objects (PUT/GET/DELETE) and container listings."""

from __future__ import annotations

import v3io.dataplane

from modelmon.backends.v3io.calls import V3ioCalls, check, split_path
from modelmon.core.errors import NotFound


class V3ioObjectStore:
    """Blobs at "<container>/<path>"; listings walk directories page by page."""

    def __init__(self, client: v3io.dataplane.Client, calls: V3ioCalls) -> None:
        self._client = client
        self._calls = calls

    def put_object(self, path: str, data: bytes) -> None:
        container, rel = split_path(path)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"object {path!r}: data must be bytes, not {type(data).__name__}")
        response = self._calls.call(f"put object {path}", self._client.object.put, container, rel, body=bytes(data))
        check(response, f"put object {path}")

    def get_object(self, path: str) -> bytes:
        container, rel = split_path(path)
        response = self._calls.call(f"get object {path}", self._client.object.get, container, rel)
        if response.status_code == 404:
            raise NotFound(f"object {path!r} does not exist")
        check(response, f"get object {path}")
        return bytes(response.body or b"")

    def delete_object(self, path: str) -> None:
        container, rel = split_path(path)
        response = self._calls.call(f"delete object {path}", self._client.object.delete, container, rel)
        if response.status_code != 404:
            check(response, f"delete object {path}")

    def list_objects(self, prefix: str) -> list[str]:
        """Every object whose path starts with ``prefix``, sorted."""
        if not isinstance(prefix, str) or not prefix.strip("/"):
            raise ValueError(f"object prefix {prefix!r} must start with a container name")
        container, _, rest = prefix.lstrip("/").partition("/")
        start = rest.rsplit("/", 1)[0] + "/" if "/" in rest else ""
        found: list[str] = []
        pending = [start]
        while pending:
            directory = pending.pop()
            files, dirs = self._list_dir(container, directory)
            found.extend(f"{container}/{key}" for key in files if f"{container}/{key}".startswith(prefix))
            pending.extend(d for d in dirs if f"{container}/{d}".startswith(prefix) or prefix.startswith(
                f"{container}/{d}"))
        return sorted(found)

    def _list_dir(self, container: str, directory: str) -> tuple[list[str], list[str]]:
        files: list[str] = []
        dirs: list[str] = []
        marker: str | None = None
        while True:
            what = f"list {container}/{directory}"
            response = self._calls.call(what, self._client.container.list, container, directory, marker=marker)
            if response.status_code == 404:
                return files, dirs
            check(response, what)
            out = response.output
            files.extend(c.key for c in out.contents if getattr(c, "last_sequence_id", None) is None)
            dirs.extend(p.prefix for p in out.common_prefixes)
            if str(out.is_truncated).lower() != "true" or not out.next_marker:
                return files, dirs
            marker = out.next_marker

    def close(self) -> None:
        """The shared client is closed by the backend."""
