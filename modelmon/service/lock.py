"""The home's lock: one service per home, and a way to tell whether it is alive without a pid file.

The running service holds ``flock(LOCK_EX)`` on ``<home>/service/lock`` for its whole life; the kernel
drops the lock when the process dies, even by SIGKILL, so a stale ``state.json`` left by a killed
service never looks alive. Probing takes ``LOCK_SH`` for an instant; a service starting at that very
moment retries for a few seconds rather than taking the probe for a rival service.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path


class ServiceLock:
    """The exclusive lock the running service holds (released by :meth:`release` or by its death)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self, wait_s: float = 3.0) -> bool:
        """Take the lock, retrying for ``wait_s`` seconds; ``False`` if another service holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    return False
                time.sleep(0.05)
                continue
            self._fd = fd
            return True

    def still_ours(self) -> bool:
        """Whether the lock file is still the one locked: ``False`` once the home was deleted or replaced."""
        if self._fd is None:
            return False
        try:
            return os.stat(self.path).st_ino == os.fstat(self._fd).st_ino
        except FileNotFoundError:
            return False

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def lock_held(path: str | os.PathLike[str]) -> bool:
    """Whether a live process holds the lock at ``path`` (never creates the file)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the probe's shared lock, if it got one
    return False
