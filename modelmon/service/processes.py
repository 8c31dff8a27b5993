"""Finding a home's service processes in ``/proc``: what :func:`~modelmon.service.stop_service` kills when the
service itself could not stop them (it was killed, or hung past the timeout).

Only processes that are certainly the home's are taken: the service (``modelmon.service --home <home>``)
and function processes whose ``--parent-pid`` is that service, or whose supervisor is gone and whose
``MODELMON_HOME`` is the home. A foreground ``modelmon run`` on the same home is never touched.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

from modelmon.core.config import ENV_HOME
from modelmon.local_nuclio.run_files import process_alive

_SERVICE = "modelmon.service"
_FUNCTION = "modelmon.local_nuclio.function_process"


def service_processes(home: str | os.PathLike[str], service_pid: int | None = None) -> list[int]:
    """Pids of the service of ``home`` (absolute) and of the function processes it started."""
    home = os.path.abspath(home)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        argv = _read(entry / "cmdline").split("\0")
        if _SERVICE in argv and _option(argv, "--home") == home:
            found.append(int(entry.name))
        elif _FUNCTION in argv:
            parent = _option(argv, "--parent-pid")
            started_by_it = service_pid is not None and parent == str(service_pid)
            orphan = parent is None or not process_alive(int(parent))
            if started_by_it or (orphan and _home_of(entry) == home):
                found.append(int(entry.name))
    return sorted(found)


def kill_all(pids: list[int], timeout: float = 5.0) -> None:
    """SIGKILL ``pids`` and wait (up to ``timeout``) until they are gone."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while any(process_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)


def _option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv[:-1] else None


def _home_of(entry: Path) -> str | None:
    for item in _read(entry / "environ").split("\0"):
        key, _, value = item.partition("=")
        if key == ENV_HOME:
            return os.path.abspath(value)
    return None


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError:  # gone, or not ours to read
        return ""
