"""What every trigger runner offers the function host."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from modelmon.local_nuclio.worker import Worker

#: Called by a trigger thread that cannot go on (a backend failure it cannot retry).
OnFatal = Callable[[BaseException], None]


class Trigger(Protocol):
    """A running trigger: it owns its workers and the threads that feed them events."""

    workers: list[Worker]

    def start(self) -> None:
        """Begin delivering events (returns at once)."""

    def stop(self) -> None:
        """Stop taking new events; an in-flight handler call finishes."""

    def join(self, timeout: float) -> None:
        """Wait until in-flight calls have returned and offsets are committed."""

    def info(self) -> dict[str, Any]:
        """What the supervisor reports about this trigger (e.g. the HTTP port)."""
