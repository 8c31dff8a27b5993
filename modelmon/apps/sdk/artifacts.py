"""Where app artifacts live: validated names, one path per project/app/endpoint/window, listing.

Layout under ``ProjectPaths(project).artifacts_prefix``::

    {app}/{endpoint_id}/{start_ms}-{end_ms}/{name}.{ext}

``endpoint_id`` is ``_all`` for artifacts an app shares between endpoints (``unique_per_endpoint=False``).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from modelmon.apps.sdk.artifact_formats import FORMATS, encode
from modelmon.apps.sdk.context import MonitoringApplicationContext
from modelmon.backends.base import ObjectStore
from modelmon.core.paths import ProjectPaths, check_name
from modelmon.core.timeutil import to_ms

_ARTIFACT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_EXTENSIONS = {ext: fmt for fmt, ext in FORMATS.items()}
SHARED_ENDPOINT = "_all"


def check_artifact_name(name: object) -> str:
    """``name`` if it is a safe artifact name, else ``ValueError`` (no '/', '\\', '..', or leading dot)."""
    if not isinstance(name, str) or not _ARTIFACT_NAME.fullmatch(name) or ".." in name:
        raise ValueError(
            f"invalid artifact name {name!r}: use up to 128 letters, digits, '_', '-' and '.', "
            "starting with a letter or digit, without '..' or path separators"
        )
    return name


@dataclasses.dataclass(frozen=True)
class ArtifactInfo:
    """One stored artifact, as ``modelmon artifacts`` lists it."""

    app_name: str
    endpoint_id: str
    start_ms: int
    end_ms: int
    name: str
    format: str
    path: str

    @classmethod
    def from_path(cls, prefix: str, path: str) -> ArtifactInfo | None:
        """The artifact at ``path`` (under ``prefix``), or ``None`` if the path is not in the layout."""
        parts = path[len(prefix):].strip("/").split("/")
        if len(parts) != 4 or "." not in parts[3]:
            return None
        app_name, endpoint_id, window, filename = parts
        name, _, ext = filename.rpartition(".")
        start, _, end = window.partition("-")
        if not (start.isdigit() and end.isdigit()) or ext not in _EXTENSIONS:
            return None
        return cls(app_name, endpoint_id, int(start), int(end), name, _EXTENSIONS[ext], path)


def artifact_path(
    project: str, app_name: str, endpoint_id: str, start_ms: int, end_ms: int, name: str, fmt: str,
) -> str:
    """The object path of an artifact; every segment is validated."""
    check_name(app_name, "application name")
    if endpoint_id != SHARED_ENDPOINT:
        check_name(endpoint_id, "endpoint id")
    check_artifact_name(name)
    if fmt not in FORMATS:
        raise ValueError(f"unknown artifact format {fmt!r}: use one of {', '.join(FORMATS)}")
    prefix = ProjectPaths(project).artifacts_prefix
    return f"{prefix}/{app_name}/{endpoint_id}/{int(start_ms)}-{int(end_ms)}/{name}.{FORMATS[fmt]}"


class ObjectStoreArtifactSink:
    """Stores artifacts in a backend's ``ObjectStore`` (the ``ArtifactSink`` of deployed apps)."""

    def __init__(self, objects: ObjectStore, project: str) -> None:
        ProjectPaths(project)  # validates the project name early
        self.objects = objects
        self.project = project

    def log_artifact(
        self, context: MonitoringApplicationContext, name: str, body: Any, fmt: str | None,
        *, unique_per_endpoint: bool = True,
    ) -> str:
        """Encode ``body`` and store it under this window's path; returns the path."""
        check_artifact_name(name)
        data, fmt = encode(body, fmt)
        endpoint = context.endpoint_id if unique_per_endpoint else SHARED_ENDPOINT
        path = artifact_path(
            self.project, context.application_name, endpoint,
            to_ms(context.start_infer_time), to_ms(context.end_infer_time), name, fmt,
        )
        self.objects.put_object(path, data)
        return path


def list_artifacts(
    objects: ObjectStore, project: str, *, endpoint_id: str | None = None, app_name: str | None = None,
) -> list[ArtifactInfo]:
    """The project's artifacts, optionally of one endpoint and/or app, sorted by app, endpoint and time."""
    prefix = ProjectPaths(project).artifacts_prefix
    listed = f"{prefix}/{check_name(app_name, 'application name')}/" if app_name else f"{prefix}/"
    found = []
    for path in objects.list_objects(listed):
        info = ArtifactInfo.from_path(prefix, path)
        if info is not None and (endpoint_id is None or info.endpoint_id == endpoint_id):
            found.append(info)
    return sorted(found, key=lambda a: (a.app_name, a.endpoint_id, a.start_ms, a.name))
