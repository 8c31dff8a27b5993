"""A project's record in a local home, ``<home>/projects/<name>/project.json``: its base period and target.

The SDK's ``get_or_create_project`` keeps it; the demo and synthetic homes write one too, so that readers
(``modelmon status``, ``modelmon ui``, the reader commands' project check) know the project and cut its
windows with its real base period rather than the environment's default.

>>> import tempfile
>>> home = tempfile.mkdtemp()
>>> read_record(home, "fraud")
{}
>>> write_record(home, "fraud", base_period_minutes=5)
>>> read_record(home, "fraud"), recorded_base_period(home, "fraud")
({'name': 'fraud', 'base_period_minutes': 5, 'target': 'local'}, 5)
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any


def record_path(home: str | os.PathLike[str], project: str) -> Path:
    """Where ``project``'s record lives under ``home``."""
    return Path(home) / "projects" / project / "project.json"


def read_record(home: str | os.PathLike[str], project: str) -> dict[str, Any]:
    """The record, or ``{}`` when there is none (or it cannot be read: a record is a convenience, not data)."""
    with contextlib.suppress(OSError, ValueError):
        record = json.loads(record_path(home, project).read_text(encoding="utf-8"))
        if isinstance(record, dict):
            return record
    return {}


def write_record(home: str | os.PathLike[str], project: str, *, base_period_minutes: int,
                 target: str = "local") -> None:
    """Create or replace the record (atomically: a reader never sees half a file)."""
    path = record_path(home, project)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"name": project, "base_period_minutes": base_period_minutes, "target": target}
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(record), encoding="utf-8")
    partial.replace(path)


def recorded_base_period(home: str | os.PathLike[str], project: str) -> int | None:
    """The recorded base period in minutes, or ``None`` without a (valid) record."""
    value = read_record(home, project).get("base_period_minutes")
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else None
