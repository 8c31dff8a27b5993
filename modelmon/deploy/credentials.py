"""A project's model-monitoring credentials: validated, stored owner-only, never printed.

Connections follow MLRun's ``set_model_monitoring_credentials``: ``"v3io"`` (the platform's own
store) or a URL whose scheme says which store. Errors name the argument and the scheme only, never
the value, because connection strings carry passwords.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from modelmon.core.project_record import record_path

_SCHEMES = {
    "stream_path": ("v3io", "kafka"),
    "tsdb_connection": ("v3io", "postgresql", "taosws"),
    "endpoint_store_connection": ("v3io", "sqlite", "mysql", "mysql+pymysql", "postgresql"),
}


@dataclasses.dataclass(frozen=True)
class Credentials:
    """What :meth:`Project.set_model_monitoring_credentials` stores. ``repr`` hides every value."""

    access_key: str | None = dataclasses.field(default=None, repr=False)
    stream_path: str | None = dataclasses.field(default=None, repr=False)
    tsdb_connection: str | None = dataclasses.field(default=None, repr=False)
    endpoint_store_connection: str | None = dataclasses.field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.access_key is not None and (not isinstance(self.access_key, str) or not self.access_key.strip()):
            raise ValueError("access_key must be a non-empty string")
        for field, schemes in _SCHEMES.items():
            check_connection(field, getattr(self, field), schemes)

    def is_empty(self) -> bool:
        return not any(dataclasses.astuple(self))

    def which(self) -> list[str]:
        """Names of the fields that are set (safe to show)."""
        return [f.name for f in dataclasses.fields(self) if getattr(self, f.name)]

    def merged(self, other: Credentials) -> Credentials:
        """These credentials with every field ``other`` sets replaced."""
        values = {f.name: getattr(other, f.name) or getattr(self, f.name) for f in dataclasses.fields(self)}
        return Credentials(**values)


def check_connection(field: str, value: Any, schemes: tuple[str, ...]) -> None:
    """``ValueError`` naming ``field`` unless ``value`` is ``None``, ``"v3io"`` or a URL of an allowed scheme."""
    if value is None or value == "v3io":
        return
    if not isinstance(value, str):
        raise ValueError(f"{field} must be a string, not {type(value).__name__}")
    parsed = urlparse(value)
    if parsed.scheme not in schemes:
        shown = f"scheme {parsed.scheme!r}" if parsed.scheme else "no URL scheme"
        raise ValueError(f"{field}: {shown} is not supported (use 'v3io' or one of {', '.join(schemes)}://...)")
    if parsed.scheme != "sqlite" and not parsed.netloc and not parsed.path.strip("/"):
        raise ValueError(f"{field}: a {parsed.scheme}:// connection needs a host or path")


def credentials_file(home: str | Path, project: str) -> Path:
    """Where project ``project`` of ``home`` keeps its credentials: next to its ``project.json``."""
    return record_path(Path(home), project).with_name("credentials.json")


def load_credentials(path: Path) -> Credentials:
    if not path.is_file():
        return Credentials()
    return Credentials(**json.loads(path.read_text(encoding="utf-8")))


def save_credentials(path: Path, credentials: Credentials) -> None:
    """Write owner-only (0600), whatever the mode of a file already there: the file holds secrets.

    A new file is written beside it and renamed over it, so the old mode (``os.open``'s mode applies only
    to a file it creates) and a half-written file are never left behind.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a leftover temp file of the same name keeps its mode otherwise
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(dataclasses.asdict(credentials), out)
    os.replace(temp, path)
