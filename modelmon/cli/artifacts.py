"""``modelmon artifacts``: list what monitoring apps logged (per app, endpoint and window)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from collections.abc import Sequence
from typing import Any

from modelmon.apps.sdk.artifacts import ArtifactInfo, list_artifacts
from modelmon.backends import make_backend
from modelmon.core.config import Settings
from modelmon.core.timeutil import iso

_COLUMNS = ("app_name", "endpoint_id", "start", "end", "name", "format", "path")


def register(subparsers: Any) -> None:
    """Add the ``artifacts`` sub-command."""
    parser = subparsers.add_parser("artifacts", help="list artifacts logged by monitoring apps")
    parser.add_argument("--endpoint", help="only this endpoint id")
    parser.add_argument("--app", help="only this application name")
    parser.add_argument("--project", help="project (default: MODELMON_PROJECT or 'default')")
    parser.add_argument("--home", help="local backend directory (default: MODELMON_HOME or .modelmon)")
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """List the artifacts; exit code 0."""
    overrides = {k: v for k, v in (("home", args.home), ("project", args.project)) if v}
    settings = Settings.from_env(os.environ, **overrides)
    backend = make_backend(settings)
    try:
        found = list_artifacts(backend.objects, settings.project, endpoint_id=args.endpoint, app_name=args.app)
    finally:
        backend.close()
    print(json.dumps([as_row(a) for a in found], indent=2) if args.json else format_table(found))
    return 0


def as_row(artifact: ArtifactInfo) -> dict[str, Any]:
    """An artifact as a JSON-ready dict, with ISO window times next to the epoch ms."""
    return {**dataclasses.asdict(artifact), "start": iso(artifact.start_ms), "end": iso(artifact.end_ms)}


def format_table(artifacts: Sequence[ArtifactInfo]) -> str:
    """A plain-text table, one artifact per line (or a note when there are none)."""
    if not artifacts:
        return "no artifacts"
    rows = [[str(as_row(a)[column]) for column in _COLUMNS] for a in artifacts]
    widths = [max(len(column), *(len(row[i]) for row in rows)) for i, column in enumerate(_COLUMNS)]
    lines = [_COLUMNS, *rows]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
                     for line in lines)
