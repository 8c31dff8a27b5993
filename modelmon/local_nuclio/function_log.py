"""One function's log file: what its processes print, kept in a rotated file instead of the caller's terminal.

The supervisor gives each process a pipe for stdout and stderr and a thread copies the lines into a
:class:`~logging.handlers.RotatingFileHandler` (5 MB, 3 backups by default): a function that logs every
controller tick cannot fill the disk, and the user's notebook or terminal sees none of it. The
supervisor adds its own lines (started, exited, restarting) to the same file, so one file tells a
function's whole story; the last lines are also kept in memory to explain a crash.
"""

from __future__ import annotations

import collections
import logging
import logging.handlers
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import IO

MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 3
_TAIL = 20  # lines kept in memory: the end of a crashed process's output


class FunctionLog:
    """The rotated log file of one function, written from the pipes of its successive processes."""

    def __init__(self, path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handler = logging.handlers.RotatingFileHandler(self.path, maxBytes=max_bytes, backupCount=backups,
                                                             encoding="utf-8")
        self._handler.setFormatter(logging.Formatter("%(message)s"))
        self._tail: collections.deque[str] = collections.deque(maxlen=_TAIL)
        self._lock = threading.Lock()

    def note(self, message: str, level: str = "info") -> None:
        """A line from the supervisor itself (the function's own lines start with ``Python>``)."""
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
        self._write(f"modelmon> {stamp} [{level}] {message}")

    def follow(self, proc: subprocess.Popen[bytes]) -> threading.Thread:
        """Copy ``proc``'s piped output into the file until the pipe closes (in a daemon thread)."""
        assert proc.stdout is not None, "the process must be started with stdout=PIPE"
        with self._lock:
            self._tail.clear()  # the tail explains the current process only
        thread = threading.Thread(target=self._pump, args=(proc.stdout,), name=f"log-{self.path.stem}", daemon=True)
        thread.start()
        return thread

    def tail(self) -> list[str]:
        """The last lines the current process printed (the reason of a crash is usually there)."""
        with self._lock:
            return list(self._tail)

    def close(self) -> None:
        self._handler.close()

    def _pump(self, pipe: IO[bytes]) -> None:
        with pipe:
            for raw in pipe:
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                with self._lock:
                    self._tail.append(line)
                self._write(line)

    def _write(self, line: str) -> None:
        self._handler.handle(logging.makeLogRecord({"msg": line, "levelno": logging.INFO}))
