"""The files through which a function process tells the supervisor it is ready, or why it cannot start."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

EXIT_CONFIG = 78  # sysexits' EX_CONFIG: a restart cannot fix this; the reason is in the error file


def ready_file(run_dir: Path, function: str, pid: int) -> Path:
    """JSON ``{"pid", "triggers"}`` written (atomically) once every trigger runs."""
    return Path(run_dir) / f"{function}.{pid}.ready"


def error_file(run_dir: Path, function: str, pid: int) -> Path:
    """One line: why the function cannot start."""
    return Path(run_dir) / f"{function}.{pid}.error"


RUN_DIR_PREFIX = "modelmon-run-"


def new_run_dir() -> Path:
    """A fresh run folder named after this (supervisor) process, after removing those of dead supervisors.

    A supervisor killed with SIGKILL cannot remove its folder; the next one to start does.
    """
    base = Path(tempfile.gettempdir())
    for leftover in base.glob(f"{RUN_DIR_PREFIX}*-*"):
        pid = leftover.name.removeprefix(RUN_DIR_PREFIX).partition("-")[0]
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(leftover, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{RUN_DIR_PREFIX}{os.getpid()}-"))


def process_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return True
