"""A clock that crosses processes: epoch milliseconds kept in a file.

A broker in its own process (``python -m kafka_server --clock-file PATH``) cannot be handed a test's clock
object, so the test keeps the time in a file both read: the broker reads it whenever it needs the time, and
the test moves it with :meth:`FileClock.set` or :meth:`FileClock.advance` (and may pass the same
``FileClock`` to the code under test, so both sides see one time).
"""

from __future__ import annotations

import os
from pathlib import Path


class FileClock:
    """``clock() -> epoch ms`` read from ``path``; created with ``now`` if given (the file must then exist)."""

    def __init__(self, path: str | Path, now: int | None = None) -> None:
        self.path = Path(path)
        if now is not None:
            self.set(now)
        elif not self.path.exists():
            raise FileNotFoundError(f"clock file {self.path} does not exist; give its first time as now=")

    def __call__(self) -> int:
        return int(self.path.read_text())

    def set(self, now: int) -> None:
        """Write the new time whole (replace, not rewrite), so a reader never sees a half-written number."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(str(int(now)))
        os.replace(tmp, self.path)

    def advance(self, ms: int) -> None:
        self.set(self() + ms)
