"""``modelmon artifacts``: list what monitoring apps logged (per app, endpoint and window)."""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import pandas as pd

from modelmon.apps.sdk.artifacts import ArtifactInfo, list_artifacts
from modelmon.backends import Backend
from modelmon.cli.endpoints import add_home_options, open_home, require_project, text_table, when
from modelmon.core.errors import NotFound
from modelmon.core.timeutil import iso
from modelmon.queries import endpoint_names, resolve_endpoint, short_id

_COLUMNS = ("app_name", "endpoint", "id", "start", "end", "name", "format", "path")


def register(subparsers: Any) -> None:
    """Add the ``artifacts`` sub-command."""
    parser = subparsers.add_parser(
        "artifacts", help="list the artifacts monitoring apps logged",
        description="List what monitoring apps stored with log_artifact (tables, JSON, plots), one line per "
                    "artifact: app, endpoint, window (UTC) and the object's path in the backend.",
    )
    add_home_options(parser)
    parser.add_argument("--endpoint", metavar="ID",
                        help="only this endpoint (id, unique id prefix, or name)")
    parser.add_argument("--app", metavar="NAME", help="only this application")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """List the artifacts; exit code 0."""
    settings, backend = open_home(args, check_project=False)  # a project may hold artifacts only (evaluate)
    try:
        endpoint = _endpoint(backend, settings.project, args.endpoint) if args.endpoint else None
        found = list_artifacts(backend.objects, settings.project, endpoint_id=endpoint, app_name=args.app)
        if not found and not list_artifacts(backend.objects, settings.project):
            require_project(settings, backend)
        names = endpoint_names(backend, settings.project)
    finally:
        backend.close()
    print(json.dumps([as_row(a, names) for a in found], indent=2) if args.json else format_table(found, names))
    return 0


def _endpoint(backend: Backend, project: str, ref: str) -> str:
    """The endpoint id ``ref`` names, or ``ref`` itself when artifacts are stored under that id (an
    endpoint that was never registered: ``evaluate()``)."""
    try:
        return resolve_endpoint(backend, project, ref)
    except NotFound:
        if list_artifacts(backend.objects, project, endpoint_id=ref):
            return ref
        raise


def as_row(artifact: ArtifactInfo, names: dict[str, str] | None = None) -> dict[str, Any]:
    """An artifact as a JSON-ready dict: ISO window times next to the epoch ms, and the endpoint's name."""
    return {**dataclasses.asdict(artifact), "endpoint_name": (names or {}).get(artifact.endpoint_id, ""),
            "start": iso(artifact.start_ms), "end": iso(artifact.end_ms)}


def format_table(artifacts: Sequence[ArtifactInfo], names: dict[str, str] | None = None) -> str:
    """A plain-text table, one artifact per line (or a note when there are none)."""
    if not artifacts:
        return "no artifacts"
    rows = pd.DataFrame([[a.app_name, (names or {}).get(a.endpoint_id) or a.endpoint_id, short_id(a.endpoint_id),
                          when(a.start_ms), when(a.end_ms), a.name, a.format, a.path] for a in artifacts],
                        columns=list(_COLUMNS))
    return text_table(rows, list(_COLUMNS))
