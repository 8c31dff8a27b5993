"""Real servers for the exporter's tests: the app under uvicorn on 127.0.0.1, and a Prometheus
(Debian's ``/usr/bin/prometheus``) scraping it every second from a temp config."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.types import ASGIApp

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
JOB = "modelmon"


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def free_port() -> int:
    with contextlib.closing(_listening_socket()) as sock:
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve(app: ASGIApp) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on a free port of 127.0.0.1; yields its base URL."""
    sock = _listening_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


class Prometheus:
    """A Prometheus process scraping ``target`` (host:port) every second, with a bearer ``token`` if given."""

    def __init__(self, workdir: Path, target: str, token: str | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        job: dict[str, Any] = {"job_name": JOB, "scrape_interval": "1s", "scrape_timeout": "1s",
                               "metrics_path": "/metrics", "static_configs": [{"targets": [target]}]}
        if token is not None:
            job["authorization"] = {"type": "Bearer", "credentials": token}
        config = workdir / "prometheus.yml"
        config.write_text(json.dumps({"global": {"scrape_interval": "1s"}, "scrape_configs": [job]}))  # YAML ⊃ JSON
        self.log = workdir / "prometheus.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'data'}",
                 f"--web.listen-address=127.0.0.1:{self.port}"], stdout=log, stderr=subprocess.STDOUT)

    def api(self, path: str, **params: str) -> dict[str, Any]:
        response = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=10)
        body: dict[str, Any] = response.json()
        return body

    def query(self, promql: str) -> dict[str, Any]:
        """``/api/v1/query`` of ``promql``: the whole answer (``status``, ``data`` or ``error``)."""
        return self.api("query", query=promql)

    def wait_until_up(self, timeout_s: float = 60) -> dict[str, Any]:
        """Wait until the target's last scrape succeeded; its entry of ``/api/v1/targets``."""
        return self.wait_for_target(lambda target: target["health"] == "up", timeout_s)

    def wait_for_target(self, done: Callable[[dict[str, Any]], bool], timeout_s: float = 60) -> dict[str, Any]:
        """The target's entry of ``/api/v1/targets`` once ``done`` holds for it (a scrape happened)."""
        deadline = time.monotonic() + timeout_s
        last: Any = None
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"prometheus exited: {self.log.read_text()[-2000:]}"
            with contextlib.suppress(httpx.TransportError, ValueError):
                last = self.api("targets")["data"]["activeTargets"]
                if last and last[0]["lastScrape"] != "0001-01-01T00:00:00Z" and done(last[0]):
                    return dict(last[0])
            time.sleep(0.2)
        raise AssertionError(f"the target never got there: {last}\n{self.log.read_text()[-2000:]}")

    def wait_for(self, promql: str, timeout_s: float = 30) -> list[dict[str, Any]]:
        """The result of ``promql`` once it is not empty (a scrape stores all of a page at once)."""
        deadline = time.monotonic() + timeout_s
        answer: dict[str, Any] = {}
        while time.monotonic() < deadline:
            answer = self.query(promql)
            assert answer["status"] == "success", answer
            if answer["data"]["result"]:
                return list(answer["data"]["result"])
            time.sleep(0.2)
        raise AssertionError(f"{promql}: still empty: {answer}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
