"""The broker in its own process (``python -m kafka_server``), for tests that kill processes.

A broker thread dies with the test process; a :class:`BrokerProcess` outlives clients killed with SIGKILL and
can itself be killed (``kill()``) and started again on the same port and folder, like a real broker host.
Its clock, if not the wall clock, is a :class:`~kafka_server.clock.FileClock` the test moves.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from kafka_server.clock import FileClock

if TYPE_CHECKING:
    from kafka_server.tls import Certificates

_TESTS_DIR = Path(__file__).resolve().parents[1]


class BrokerProcess:
    def __init__(
        self,
        data_dir: str | Path,
        port: int = 0,
        auto_create_topics: bool = False,
        clock: FileClock | None = None,
        retention_check_ms: int | None = None,
        broker_configs: dict[str, str] | None = None,
        sasl_users: dict[str, str] | None = None,
        certificates: Certificates | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.port = port
        self.auto_create_topics = auto_create_topics
        self.clock = clock
        self.retention_check_ms = retention_check_ms
        self.broker_configs = dict(broker_configs or {})
        self.sasl_users = dict(sasl_users or {})  # given: SASL required
        self.certificates = certificates  # given: the listener speaks TLS with this server pair
        self.proc: subprocess.Popen[str] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> BrokerProcess:
        """Start and wait for the READY line; the port picked by the first start is kept by later ones."""
        command = [sys.executable, "-m", "kafka_server", "--port", str(self.port), "--data", str(self.data_dir)]
        if self.auto_create_topics:
            command.append("--auto-create")
        if self.clock is not None:
            command += ["--clock-file", str(self.clock.path)]
        if self.retention_check_ms is not None:
            command += ["--retention-check-ms", str(self.retention_check_ms)]
        for name, value in self.broker_configs.items():
            command += ["--config", f"{name}={value}"]
        for user, password in self.sasl_users.items():
            command += ["--sasl-user", f"{user}={password}"]
        if self.certificates is not None:
            command += ["--tls-cert", str(self.certificates.cert_file), "--tls-key", str(self.certificates.key_file)]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(_TESTS_DIR), os.environ.get("PYTHONPATH")])),
        }
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if not line or line[0] != "READY":
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"kafka_server did not start (exit {self.proc.returncode}): {line}")
        self.port = int(line[1].rsplit(":", 1)[1])
        return self

    def stop(self) -> None:
        """SIGTERM: the broker closes its connections and exits."""
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as a crashed broker host (the next start cuts any torn log tail)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> BrokerProcess:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
