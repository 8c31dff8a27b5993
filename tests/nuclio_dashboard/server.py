"""A Nuclio dashboard for tests: the REST calls nuclio-jupyter makes, over HTTP on 127.0.0.1.

Implemented (paths under ``/api``, as the dashboard serves them):

- ``GET /projects`` (name -> project), ``POST /projects`` (``{"metadata": {"name"}}``);
- ``GET /functions`` (name -> function), ``GET /functions/<name>`` (404 when missing);
- ``POST /functions`` (create; needs ``x-nuclio-project-name``), ``PUT /functions/<name>`` (update),
  ``DELETE /functions`` (body ``{"metadata": {"name"}}``);
- ``GET /external_ip_addresses``;
- ``POST /function_invocations`` (``x-nuclio-function-name``, ``x-nuclio-path``): calls the function's
  registered Python handler or echoes the request.

A deployed function is ``building`` for ``building_polls`` status reads, then ``ready`` — or ``error``
with a message, when a failure was armed with :meth:`NuclioDashboard.fail`, when Nuclio's builder would fail
on its config (:func:`~nuclio_dashboard.builder.build_failure`: no code entry at all — a dashboard gets
only the config, so it must name where the code is —, a malformed code entry, a ``pip install`` of a path
the build does not have), or when the function could not start on the cluster the dashboard stands for
(:class:`~nuclio_dashboard.platform.Namespace`: its platform, secrets and the V3IO access keys that work):
a secret reference to a missing secret, or a ``v3ioStream`` trigger left without a usable access key. By
default the namespace holds modelmon's default secret (``modelmon-credentials``, key ``access-key``) and
V3IO takes any non-empty key. Every configuration the server receives is kept in
:attr:`NuclioDashboard.received`.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from nuclio_dashboard.builder import build_failure
from nuclio_dashboard.platform import Namespace

PROJECT_LABEL = "nuclio.io/project-name"
Invoker = Callable[[bytes, dict[str, str]], tuple[int, bytes]]
DEFAULT_SECRETS = {"modelmon-credentials": {"access-key": "test-dashboard-access-key"}}


class NuclioDashboard:
    """The dashboard's state and its HTTP server; use as a context manager or start()/stop()."""

    def __init__(self, *, building_polls: int = 1, namespace: Namespace | None = None) -> None:
        self.building_polls = building_polls
        self.namespace = namespace or Namespace(secrets=copy.deepcopy(DEFAULT_SECRETS))
        self.projects: dict[str, dict[str, Any]] = {}
        self.functions: dict[str, dict[str, Any]] = {}
        self.received: list[tuple[str, dict[str, Any]]] = []  # (method, config) in arrival order
        self.deleted: list[str] = []
        self.invokers: dict[str, Invoker] = {}
        self._failures: dict[str, str] = {}
        self._polls: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stopped = False
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self))
        # poll for shutdown every 50 ms, not socketserver's 500: stop() waits one poll (0.5 s per test)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="nuclio-dashboard", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> NuclioDashboard:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (idempotent): later requests are refused."""
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> NuclioDashboard:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail(self, name: str, message: str) -> None:
        """Make the next deployment of function ``name`` end in state ``error`` with ``message``."""
        with self._lock:
            self._failures[name] = message

    def config(self, name: str) -> dict[str, Any]:
        """The stored configuration of function ``name`` (metadata and spec)."""
        with self._lock:
            function = self.functions[name]
            return copy.deepcopy({"metadata": function["metadata"], "spec": function["spec"]})

    # -- request handling (called by the HTTP handler) --------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        parts = [p for p in path.split("?")[0].split("/") if p]
        if not parts or parts[0] != "api":
            return 404, {"error": f"no route {path}"}
        route = parts[1:]
        with self._lock:
            match method, route:
                case "GET", ["projects"]:
                    return 200, copy.deepcopy(self.projects)
                case "POST", ["projects"]:
                    return self._create_project(_json(body))
                case "GET", ["functions"]:
                    return 200, {n: self._view(n) for n in self.functions}
                case "GET", ["functions", name]:
                    return (200, self._poll(name)) if name in self.functions else (404, {"error": "not found"})
                case "POST", ["functions"]:
                    return self._deploy("POST", None, _json(body), headers)
                case "PUT", ["functions", name]:
                    return self._deploy("PUT", name, _json(body), headers)
                case "DELETE", ["functions"]:
                    return self._delete(_json(body))
                case "GET", ["external_ip_addresses"]:
                    return 200, {"externalIPAddresses": {"addresses": ["127.0.0.1"]}}
                case "POST", ["function_invocations"]:
                    invoker = self._invoker(headers)
        if method == "POST" and route == ["function_invocations"]:
            return invoker(body, headers)
        return 405, {"error": f"{method} {path} is not supported"}

    def _create_project(self, doc: Any) -> tuple[int, Any]:
        name = (doc or {}).get("metadata", {}).get("name") if isinstance(doc, dict) else None
        if not name:
            return 400, {"error": "project metadata.name is required"}
        if name in self.projects:
            return 409, {"error": f"project {name} already exists"}
        self.projects[name] = {"metadata": {"name": name, "namespace": "nuclio"}, "spec": doc.get("spec") or {}}
        return 201, self.projects[name]

    def _deploy(self, method: str, name: str | None, doc: Any, headers: dict[str, str]) -> tuple[int, Any]:
        if not isinstance(doc, dict) or not isinstance(doc.get("metadata"), dict):
            return 400, {"error": "body must be a function config with metadata"}
        config_name = doc["metadata"].get("name")
        project = headers.get("x-nuclio-project-name", "")
        if not config_name or (name is not None and name != config_name):
            return 400, {"error": f"metadata.name {config_name!r} does not match {name!r}"}
        if project not in self.projects:
            return 400, {"error": f"project {project!r} does not exist"}
        if doc["metadata"].get("labels", {}).get(PROJECT_LABEL) != project:
            return 400, {"error": "metadata.labels[nuclio.io/project-name] must name the project"}
        if method == "POST" and config_name in self.functions:
            return 409, {"error": f"function {config_name} already exists"}
        if method == "PUT" and config_name not in self.functions:
            return 404, {"error": f"function {config_name} not found"}
        self.received.append((method, copy.deepcopy(doc)))
        failure = (self._failures.pop(config_name, None) or build_failure(doc)
                   or self.namespace.start_failure(doc))
        self.functions[config_name] = {
            "metadata": copy.deepcopy(doc["metadata"]),
            "spec": copy.deepcopy(doc.get("spec") or {}),
            "status": {"state": "building", "logs": [_log("info", "Building")], "failure": failure},
        }
        self._polls[config_name] = 0
        return 202, {}

    def _poll(self, name: str) -> dict[str, Any]:
        """One status read: ``building`` for the first ``building_polls`` reads, then the outcome."""
        status = self.functions[name]["status"]
        if status["state"] == "building":
            self._polls[name] += 1
            if self._polls[name] > self.building_polls:
                if status["failure"]:
                    status.update(state="error", message=status["failure"])
                    status["logs"].append(_log("error", status["failure"]))
                else:
                    status.update(
                        state="ready",
                        httpPort=30000 + len(self.functions),
                        internalInvocationUrls=[f"nuclio-{name}.nuclio.svc.cluster.local:8080"],
                        externalInvocationUrls=[f"127.0.0.1:{30000 + len(self.functions)}"],
                    )
                    status["logs"].append(_log("info", "Function deploy complete"))
        return self._view(name)

    def _view(self, name: str) -> dict[str, Any]:
        function = copy.deepcopy(self.functions[name])
        function["status"].pop("failure", None)
        return function

    def _delete(self, doc: Any) -> tuple[int, Any]:
        name = (doc or {}).get("metadata", {}).get("name") if isinstance(doc, dict) else None
        if name not in self.functions:
            return 404, {"error": f"function {name!r} not found"}
        del self.functions[name]
        self.deleted.append(name)
        return 204, None

    def _invoker(self, headers: dict[str, str]) -> Invoker:
        name = headers.get("x-nuclio-function-name", "")
        if name not in self.functions:
            return lambda body, h: (404, json.dumps({"error": f"function {name!r} not found"}).encode())
        if self.functions[name]["status"]["state"] != "ready":
            return lambda body, h: (503, json.dumps({"error": f"function {name!r} is not ready"}).encode())
        return self.invokers.get(name, _echo(name))


def _echo(name: str) -> Invoker:
    def echo(body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        path = headers.get("x-nuclio-path", "/")
        return 200, json.dumps({"function": name, "path": path, "body": body.decode("utf-8", "replace")}).encode()

    return echo


def _log(level: str, message: str) -> dict[str, Any]:
    return {"time": time.time() * 1000.0, "level": level, "message": message}


def _json(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except json.JSONDecodeError:
        return None


def _handler_class(dashboard: NuclioDashboard) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, payload = dashboard.handle(self.command, self.path, headers, body)
            data = payload if isinstance(payload, bytes) else (b"" if payload is None else json.dumps(payload).encode())
            self.send_response(HTTPStatus(status))
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

    return Handler
