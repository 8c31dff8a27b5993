"""The ``http`` trigger: a threaded HTTP server on 127.0.0.1 feeding a pool of workers.

Each request borrows one worker (so at most ``maxWorkers`` handler calls run at once, as in
Nuclio) and the handler's return value becomes the response: ``str`` (text/plain), ``bytes``
(application/octet-stream), ``dict``/``list`` (JSON), ``(status, body)`` or a
``nuclio_sdk.Response``. An exception is a 500 whose body is the error text.
"""

from __future__ import annotations

import json
import queue
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import nuclio_sdk

from modelmon.core.errors import ConfigError
from modelmon.local_nuclio.nuclio_event import http_event
from modelmon.local_nuclio.trigger import OnFatal
from modelmon.local_nuclio.trigger_spec import TriggerSpec
from modelmon.local_nuclio.worker import Worker

HOST = "127.0.0.1"
WORKER_WAIT_S = 10.0  # Nuclio's workerAvailabilityTimeoutMilliseconds default


def http_response(value: Any) -> tuple[int, dict[str, str], bytes]:
    """``(status, headers, body)`` for a handler's return value.

    >>> http_response({"ok": True})
    (200, {'Content-Type': 'application/json'}, b'{"ok": true}')
    >>> http_response((201, "made"))
    (201, {'Content-Type': 'text/plain'}, b'made')
    """
    if isinstance(value, nuclio_sdk.Response):
        status, headers, body = value.status_code, {str(k): str(v) for k, v in value.headers.items()}, value.body
        content_type = value.content_type
    elif isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], int):
        status, headers, body, content_type = value[0], {}, value[1], None
    else:
        status, headers, body, content_type = 200, {}, value, None
    if isinstance(body, dict | list):
        payload, default_type = json.dumps(body).encode("utf-8"), "application/json"
    elif isinstance(body, bytes | bytearray):
        payload, default_type = bytes(body), "application/octet-stream"
    elif body is None:
        payload, default_type = b"", "text/plain"
    else:
        payload, default_type = str(body).encode("utf-8"), "text/plain"
    if content_type is None or (content_type == "text/plain" and default_type == "application/json"):
        content_type = default_type
    headers.setdefault("Content-Type", content_type)
    return status, headers, payload


class HttpTrigger:
    """Serves the function on ``127.0.0.1:port`` (``port`` 0: a free port, see :meth:`info`)."""

    def __init__(self, trigger: TriggerSpec, workers: list[Worker], on_fatal: OnFatal, port: int = 0) -> None:
        self.trigger = trigger
        self.workers = workers
        self._on_fatal = on_fatal
        self._idle: queue.Queue[Worker] = queue.Queue()
        for worker in workers:
            self._idle.put(worker)
        try:
            self._server = ThreadingHTTPServer((HOST, port), _handler_class(self))
        except OSError as exc:
            raise ConfigError(f"{trigger.where()}: cannot listen on {HOST}:{port}: {exc.strerror or exc}") from None
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._serve, name=f"http-{trigger.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def join(self, timeout: float) -> None:
        """Wait for in-flight requests by taking every worker back from the pool."""
        taken = []
        try:
            for _ in self.workers:
                taken.append(self._idle.get(timeout=timeout))
        except queue.Empty:
            pass
        for worker in taken:
            self._idle.put(worker)

    def info(self) -> dict[str, Any]:
        return {"kind": self.trigger.kind, "name": self.trigger.name, "host": HOST, "port": self.port}

    def _serve(self) -> None:
        try:
            self._server.serve_forever(poll_interval=0.1)
        except BaseException as exc:  # pragma: no cover - the socket died under us
            self._on_fatal(exc)

    def handle(self, request: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        """Run one request through an idle worker."""
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length > 0 else b""
        split = urlsplit(request.path)
        event = http_event(
            self.trigger,
            method=request.command,
            path=split.path or "/",
            fields=dict(parse_qsl(split.query)),
            headers=dict(request.headers.items()),
            body=body,
            url=f"http://{HOST}:{self.port}{request.path}",
        )
        try:
            worker = self._idle.get(timeout=WORKER_WAIT_S)
        except queue.Empty:
            return 503, {"Content-Type": "text/plain"}, b"no worker available"
        try:
            return http_response(worker.call(event))
        except nuclio_sdk.ExceptionWithResponse as exc:
            return http_response(nuclio_sdk.Response(body=exc.body, status_code=exc.status_code,
                                                     content_type=exc.content_type))
        except Exception as exc:
            worker.context.logger.error_with("http handler failed", trigger=self.trigger.name, error=repr(exc))
            return 500, {"Content-Type": "text/plain"}, f"{type(exc).__name__}: {exc}".encode()
        finally:
            self._idle.put(worker)


def _handler_class(trigger: HttpTrigger) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _respond(self) -> None:
            status, headers, payload = trigger.handle(self)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _respond

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the handler logs what matters
            pass

    return _Handler
