"""One server per test process (PostgreSQL, moto's S3): started on first use, stopped when that process exits."""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar


class Stoppable(Protocol):
    def stop(self) -> None: ...


S = TypeVar("S", bound=Stoppable)


class PerProcess(Generic[S]):
    """``get()`` starts the server with ``start`` the first time; it is stopped at the exit of the process that
    started it, not of a forked child exiting normally (which would stop it under its parent's tests)."""

    def __init__(self, start: Callable[[], S]) -> None:
        self._start = start
        self._server: S | None = None
        self._lock = threading.Lock()

    def get(self) -> S:
        with self._lock:
            if self._server is None:
                self._server = self._start()
                atexit.register(_stop_in, os.getpid(), self._server)
            return self._server


def _stop_in(pid: int, server: Stoppable) -> None:
    if os.getpid() == pid:
        server.stop()
