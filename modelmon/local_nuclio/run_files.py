"""The files through which a function process tells the supervisor it is ready, or why it cannot start."""

from __future__ import annotations

from pathlib import Path

EXIT_CONFIG = 78  # sysexits' EX_CONFIG: a restart cannot fix this; the reason is in the error file


def ready_file(run_dir: Path, function: str, pid: int) -> Path:
    """JSON ``{"pid", "triggers"}`` written (atomically) once every trigger runs."""
    return Path(run_dir) / f"{function}.{pid}.ready"


def error_file(run_dir: Path, function: str, pid: int) -> Path:
    """One line: why the function cannot start."""
    return Path(run_dir) / f"{function}.{pid}.error"
