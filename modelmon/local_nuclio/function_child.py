"""One function under :class:`~modelmon.local_nuclio.LocalRuntime`: its bookkeeping, its status, stopping it."""

from __future__ import annotations

import dataclasses
import logging
import signal
import subprocess
import threading
import time
from typing import Any

from modelmon.local_nuclio.function_log import FunctionLog
from modelmon.local_nuclio.spec import FunctionSpec

_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class FunctionStatus:
    """What :meth:`LocalRuntime.status` reports about one function."""

    name: str
    pid: int | None
    alive: bool
    ready: bool
    restarts: int
    triggers: list[dict[str, Any]]
    error: str | None  # why the function cannot start (not restarted)
    started_ms: int | None = None  # when the current process started (epoch ms)
    restarting: bool = False  # the process exited and a restart is scheduled
    last_error: str | None = None  # ``error``, or how the last process ended (exit code and its last line)
    version: str | None = None  # what :meth:`LocalRuntime.add` was given


@dataclasses.dataclass
class Child:
    """One supervised function: its spec, its current process, restarts and log (guarded by the runtime's lock)."""

    spec: FunctionSpec
    ports: dict[str, int]
    env: dict[str, str] = dataclasses.field(default_factory=dict)  # on top of the runtime's environment
    version: str | None = None
    log: FunctionLog | None = None
    pump: threading.Thread | None = None  # copies the current process's output into ``log``
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    started_ms: int | None = None
    last_error: str | None = None
    restarts: int = 0
    failures: int = 0
    restart_at: float | None = None
    ready: dict[str, Any] | None = None
    error: str | None = None



def terminate(procs: list[subprocess.Popen[bytes]], timeout_s: float) -> None:
    """SIGTERM ``procs``, wait up to ``timeout_s`` for them all, SIGKILL the laggards."""
    procs = [proc for proc in procs if proc.poll() is None]
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    for proc in procs:
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _log.warning("pid %d did not stop in %gs; killing it", proc.pid, timeout_s)
            proc.kill()
            proc.wait()
