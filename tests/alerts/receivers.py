"""Real receivers on 127.0.0.1 for the alert tests: an HTTP server and an SMTP server (aiosmtpd).

Both record every request/message, and the set of distinct idempotency keys (``Idempotency-Key`` or
``X-Modelmon-Key``/``Message-ID``): a receiver that dedupes by key sees each notification once.
"""

from __future__ import annotations

import http.server
import json
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HttpReceiver:
    """A threaded HTTP server recording POSTs; ``delay_s`` before answering, ``status`` to answer with.

    ``on_request`` is called with each request (path, headers, body) as it arrives, before the delay and the
    answer: a test can act while that send is certainly in flight (e.g. ``kill -9`` the sender, which then
    never sees the answer). The request is recorded all the same: the receiver got it.
    """

    def __init__(self, port: int | None = None, *, delay_s: float = 0.0, status: int = 200,
                 on_request: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.port = port or free_port()
        self.delay_s = delay_s
        self.status = status
        self.on_request = on_request
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> HttpReceiver:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                request = {"path": self.path, "headers": dict(self.headers), "body": body}
                if receiver.on_request is not None:
                    receiver.on_request(request)
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                with receiver._lock:
                    receiver.requests.append(request)
                try:
                    self.send_response(receiver.status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:  # the sender is gone (killed): it never sees the answer
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def keys(self) -> list[str]:
        with self._lock:
            return [r["headers"].get("Idempotency-Key", "") for r in self.requests]

    def unique(self) -> dict[str, dict[str, Any]]:
        """The first request per idempotency key (what a deduping receiver keeps), body parsed."""
        out: dict[str, dict[str, Any]] = {}
        with self._lock:
            for r in self.requests:
                out.setdefault(r["headers"].get("Idempotency-Key", ""), json.loads(r["body"]))
        return out


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A certificate and key for 127.0.0.1/localhost, made with ``openssl``."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    return cert, key


class SmtpReceiver:
    """An aiosmtpd server recording messages; with ``cert`` it offers STARTTLS, with ``users`` it requires
    AUTH (LOGIN/PLAIN) after STARTTLS."""

    def __init__(self, *, cert: tuple[Path, Path] | None = None, users: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.messages: list[Any] = []
        self.logins: list[str] = []
        self.cert = cert
        self.users = users
        self._controller: Any = None

    def start(self) -> SmtpReceiver:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        receiver = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                import email

                receiver.messages.append(email.message_from_bytes(envelope.content))
                return "250 OK"

        def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
            user, password = data.login.decode(), data.password.decode()
            ok = receiver.users is not None and receiver.users.get(user) == password
            if ok:
                receiver.logins.append(user)
            return AuthResult(success=ok)

        kwargs: dict[str, Any] = {}
        if self.cert is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(self.cert[0]), str(self.cert[1]))
            kwargs.update(tls_context=context, require_starttls=True)
        if self.users is not None:
            kwargs.update(authenticator=authenticator, auth_required=True,
                          auth_require_tls=self.cert is not None)
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def unique(self) -> dict[str, Any]:
        """The first message per Message-ID."""
        out: dict[str, Any] = {}
        for m in self.messages:
            out.setdefault(m["Message-ID"], m)
        return out
