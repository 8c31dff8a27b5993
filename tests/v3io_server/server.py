"""The HTTP side of the test V3IO server: routing on method + ``X-v3io-function``, objects, listings, faults.

Usage::

    with V3ioTestServer(access_key="k") as server:
        client = v3io.dataplane.Client(endpoint=server.url, access_key="k")

Fault knobs (each counts requests, whatever their function): :meth:`fail_next` answers ``n`` requests
with an error status (503 by default), :meth:`drop_next` closes the connection without an answer,
before or after applying the request, :meth:`reject_records` fails single records of the next
PutRecords, :meth:`throttle_records` fails the records holding a marker in whichever PutRecords carries
them, and :meth:`restart` stops and starts the listener on the same port keeping all state.
:meth:`answer_condition_false` and :meth:`answer_oversize` pick which of the platform's reply shapes a
false condition or a record over the size limit gets. :attr:`put_requests` lists the record count of every
PutRecords received, so a test sees what a client sent again. :meth:`after_next` runs an action on the store
right after the next request of one web-API function is applied, before the client gets its answer: what
another client did between two requests of a multi-request operation (an append between a seek and a read).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

from v3io_server import kv_functions, stream_functions
from v3io_server.store import Store, V3ioFailure, not_found

_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "CreateStream": stream_functions.create_stream,
    "DescribeStream": stream_functions.describe_stream,
    "UpdateStream": stream_functions.update_stream,
    "SeekShard": stream_functions.seek_shard,
    "PutRecords": stream_functions.put_records,
    "GetRecords": stream_functions.get_records,
    "PutItem": kv_functions.put_item,
    "UpdateItem": kv_functions.update_item,
    "GetItem": kv_functions.get_item,
    "GetItems": kv_functions.get_items,
}


class _Faults:
    def __init__(self) -> None:
        self.fail: list[tuple[int, int]] = []  # (status, error code) per coming request
        self.drop: list[str] = []  # "before" / "after" per coming request
        self.records = stream_functions.RecordFaults()
        self.requests = 0
        self.after: dict[str, list[Callable[[Store], None]]] = {}  # web-API function -> actions, one per request


class V3ioTestServer:
    """A V3IO web-API endpoint on 127.0.0.1 backed by a :class:`Store` that survives restarts."""

    def __init__(self, access_key: str | None = None, port: int = 0, store: Store | None = None) -> None:
        self.access_key = access_key
        self.store = store or Store()
        self.faults = _Faults()
        self._port = port
        self._httpd: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.connections: set[Any] = set()
        #: Records per PutRecords request parsed (one refused for its body size is not parsed, so not listed).
        self.put_requests: list[int] = []

    # ------------------------------------------------------------------------------- lifecycle
    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> V3ioTestServer:
        handler = type("Handler", (_Handler,), {"server_ref": self})
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self._port), handler)
        self._httpd.daemon_threads = True
        self._port = self._httpd.server_address[1]
        # poll for shutdown every 50 ms, not socketserver's 500: stop() waits one poll (0.5 s per test)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="v3io-test-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and cut every open keep-alive connection, as a restarting platform would."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        with self.store.lock:
            connections, self.connections = list(self.connections), set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def restart(self) -> None:
        """Stop and start on the same port; records, items and objects are kept."""
        self.stop()
        self.start()

    def __enter__(self) -> V3ioTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------------------- faults
    def fail_next(self, n: int, status: int = 503, code: int = -11) -> None:
        with self.store.lock:
            self.faults.fail.extend([(status, code)] * n)

    def drop_next(self, n: int, when: str = "before") -> None:
        if when not in ("before", "after"):
            raise ValueError(f"when={when!r}: expected 'before' or 'after'")
        with self.store.lock:
            self.faults.drop.extend([when] * n)

    def answer_condition_false(self, shape: str) -> None:
        """Answer a false ConditionExpression in this shape (one of ``kv_functions.CONDITION_FALSE_SHAPES``)."""
        if shape not in kv_functions.CONDITION_FALSE_SHAPES:
            raise ValueError(f"shape={shape!r}: expected one of {sorted(kv_functions.CONDITION_FALSE_SHAPES)}")
        with self.store.lock:
            self.store.condition_false_shape = shape

    def answer_oversize(self, shape: str) -> None:
        """Answer a record over a per-record limit in this shape (one of ``stream_functions.OVERSIZE_SHAPES``)."""
        if shape not in stream_functions.OVERSIZE_SHAPES:
            raise ValueError(f"shape={shape!r}: expected one of {stream_functions.OVERSIZE_SHAPES}")
        with self.store.lock:
            self.store.oversize_shape = shape

    def reject_records(self, indexes: set[int]) -> None:
        """Fail these record positions (throttled) in the next PutRecords."""
        with self.store.lock:
            self.faults.records.reject = set(indexes)

    def throttle_records(self, marker: bytes, times: int) -> None:
        """Fail (throttled) every record whose data holds ``marker``, ``times`` times in all."""
        with self.store.lock:
            self.faults.records.throttle[marker] = times

    def after_next(self, function: str, action: Callable[[Store], None]) -> None:
        """Run ``action(store)`` once, right after the next ``function`` request (``"GetRecords"``, ...) is
        applied and before it is answered (several calls queue one action per request)."""
        if function not in _FUNCTIONS:
            raise ValueError(f"function={function!r}: expected one of {sorted(_FUNCTIONS)}")
        with self.store.lock:
            self.faults.after.setdefault(function, []).append(action)

    @property
    def request_count(self) -> int:
        return self.faults.requests


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server_ref: V3ioTestServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def setup(self) -> None:
        super().setup()
        with self.server_ref.store.lock:
            self.server_ref.connections.add(self.connection)

    def finish(self) -> None:
        with self.server_ref.store.lock:
            self.server_ref.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def do_GET(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if len(raw) < length:
            # The client went away mid-body (killed): like any HTTP server, V3IO discards a request
            # it never received whole; storing the part would invent a truncated object.
            self.close_connection = True
            return
        owner = self.server_ref
        store = owner.store
        with store.lock:
            owner.faults.requests += 1
            drop = owner.faults.drop.pop(0) if owner.faults.drop else None
            fail = owner.faults.fail.pop(0) if owner.faults.fail and drop is None else None
            if drop == "before":
                self.close_connection = True
                return
            if fail is not None:
                self._reply(fail[0], _error(fail[1], "Service temporarily unavailable"))
                return
            if owner.access_key is not None and self.headers.get("X-v3io-session-key") != owner.access_key:
                self._reply(401, _error(-1, "Unauthorized: bad or missing access key"))
                return
            try:
                status, headers, body = self._dispatch(raw)
            except V3ioFailure as failure:
                status, headers, body = failure.status, {}, failure.body()
            actions = owner.faults.after.get(self.headers.get("X-v3io-function") or "")
            if actions:
                actions.pop(0)(store)
            if drop == "after":
                self.close_connection = True
                return
        self._reply(status, body, headers)

    def _dispatch(self, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        parsed = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(parsed.path).strip("/")
        function = self.headers.get("X-v3io-function")
        store = self.server_ref.store
        if function:
            handler = _FUNCTIONS.get(function)
            if handler is None:
                raise V3ioFailure(400, -22, f"unknown function {function!r}")
            if function == "PutRecords":
                stream_functions.check_body_size(raw)
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                raise V3ioFailure(400, -22, "request body is not JSON") from None
            if function == "PutRecords":
                faults = self.server_ref.faults.records
                self.server_ref.put_requests.append(len(body.get("Records") or ()))
                injected = stream_functions.RecordFaults(faults.reject, faults.throttle)
                faults.reject = set()
                result: Any = stream_functions.put_records(store, path, body, injected)
            else:
                result = handler(store, path, body)
            headers: dict[str, str] = {}
            if isinstance(result, tuple):
                result, headers = result
            if function == "CreateStream":
                return 204, headers, b""
            return 200, {"Content-Type": "application/json", **headers}, json.dumps(result).encode() if result else b""
        return self._object(path, parsed.query, raw)

    def _object(self, path: str, query: str, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        store = self.server_ref.store
        if self.command == "GET" and "/" not in path and path:
            return 200, {"Content-Type": "application/xml"}, _listing(store, path, urllib.parse.parse_qs(query))
        if self.command == "PUT":
            if self.headers.get("Range") == "-1":
                store.objects[path] = store.objects.get(path, b"") + raw
            else:
                store.objects[path] = raw
            return 200, {}, b""
        if self.command in ("GET", "HEAD"):
            if path in store.objects:
                return 200, {"Content-Type": "application/octet-stream"}, store.objects[path]
            if store.exists(path):
                return 200, {}, b""
            raise not_found(path)
        if self.command == "DELETE":
            return _delete(store, path)
        raise V3ioFailure(405, -22, f"method {self.command} not allowed")

    def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _error(code: int, message: str) -> bytes:
    return json.dumps({"ErrorCode": code, "ErrorMessage": message}).encode()


def _delete(store: Store, path: str) -> tuple[int, dict[str, str], bytes]:
    found = False
    for table in (store.objects, store.items):
        found = table.pop(path, None) is not None or found
    shard = store.shard_of(path)
    if shard is not None:  # the stream client deletes shards one by one, then the stream
        shard.records.clear()
        found = True
    if path in store.streams:
        del store.streams[path]
        found = True
    if not found:
        raise not_found(path)
    return 204, {}, b""


def _listing(store: Store, container: str, query: dict[str, list[str]]) -> bytes:
    """GET /<container>?prefix=dir/ : the S3-like XML listing the client parses."""
    prefix = query.get("prefix", [""])[0].strip("/")
    directory = f"{container}/{prefix}/" if prefix else f"{container}/"
    limit = int(query.get("max-keys", ["1000"])[0])
    marker = query.get("marker", [""])[0]
    files, dirs = store.list_dir(directory)
    if not files and not dirs and prefix:
        raise not_found(directory)
    rows = [("f", path[len(container) + 1:], size, last) for path, size, last in files]
    rows += [("d", d[len(container) + 1:], 0, None) for d in dirs]
    rows = sorted((r for r in rows if r[1] > marker), key=lambda r: r[1])
    page, truncated = rows[:limit], len(rows) > limit
    parts = [f"<ListBucketResult><Name>{escape(container)}</Name>",
             f"<NextMarker>{escape(page[-1][1]) if truncated else ''}</NextMarker>",
             f"<MaxKeys>{limit}</MaxKeys><IsTruncated>{'true' if truncated else 'false'}</IsTruncated>"]
    for kind, key, size, last in page:
        if kind == "f":
            seq = f"<LastSequenceID>{last}</LastSequenceID>" if last is not None else ""
            parts.append(f"<Contents><Key>{escape(key)}</Key><Size>{size}</Size>{seq}</Contents>")
        else:
            parts.append(f"<CommonPrefixes><Prefix>{escape(key)}</Prefix></CommonPrefixes>")
    parts.append("</ListBucketResult>")
    return "".join(parts).encode()
