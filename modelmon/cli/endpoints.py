"""``modelmon endpoints``: the model endpoints of a project, with traffic counters and drift status.

Also what every command reading a home shares: its options, opening it (never creating it), the
project check, and how tables show times (ISO, UTC) and endpoints (name and short id).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from modelmon.backends import Backend, make_backend
from modelmon.core.config import ENV_PROJECT, Settings
from modelmon.core.errors import NotFound
from modelmon.core.project_record import record_path
from modelmon.core.timeutil import from_ms, iso
from modelmon.queries import list_endpoints, project_exists, short_id

_TABLE = ["name", "id", "model_version", "request_count", "error_count", "latency_avg_us", "last_request",
          "drift_status", "not_analysed"]


def add_home_options(parser: argparse.ArgumentParser) -> None:
    """``--home``, ``--project`` and ``--json``, shared by the commands that read a home."""
    parser.add_argument("--home", help="modelmon home of the local backend (default: $MODELMON_HOME or .modelmon)")
    parser.add_argument("--project", help="project name (default: $MODELMON_PROJECT, else the home's only project, "
                                          "else 'default')")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def open_home(args: argparse.Namespace, *, check_project: bool = True) -> tuple[Settings, Backend]:
    """The settings and backend the options name; a local home that does not exist is an error (not created).

    With ``check_project``, a project the home does not know is ``NotFound`` (see :func:`check_project`).
    """
    overrides = {k: v for k, v in (("home", args.home), ("project", args.project)) if v}
    settings = Settings.from_env(os.environ, **overrides)
    if settings.backend == "local" and not Path(settings.home).is_dir():
        raise NotFound(f"no modelmon home at {settings.home} (use --home or MODELMON_HOME)")
    if not args.project and ENV_PROJECT not in os.environ:
        only = [p for p in projects_in_home(settings) if _has_record(settings, p)]
        if len(only) == 1:  # a home of one project needs no --project
            settings = dataclasses.replace(settings, project=only[0])
    backend = make_backend(settings)
    if check_project:
        try:
            require_project(settings, backend)
        except BaseException:
            backend.close()
            raise
    return settings, backend


def require_project(settings: Settings, backend: Backend) -> None:
    """``NotFound`` unless the project exists: it has a project record in the home (the SDK's
    ``projects/<name>/project.json``), or an endpoint, a registered app or a stored result. The message
    names the projects found in the home."""
    project = settings.project
    if _has_record(settings, project) or project_exists(backend, project):
        return
    found = [p for p in projects_in_home(settings) if p != project and project_exists(backend, p)]
    where = f"home {settings.home}" if settings.backend == "local" else f"the {settings.backend} backend"
    raise NotFound(f"no project {project!r} in {where}: it has no endpoints, applications or results; "
                   + (f"projects there: {', '.join(found)}" if found else "give the project with --project"))


def projects_in_home(settings: Settings) -> list[str]:
    """Project names the home's folders mention (project records, function logs), sorted."""
    if settings.backend != "local":
        return []
    home = Path(settings.home)
    names = {d.name for parent in (home / "projects", home / "logs") if parent.is_dir()
             for d in parent.iterdir() if d.is_dir()}
    return sorted(names)


def _has_record(settings: Settings, project: str) -> bool:
    return settings.backend == "local" and record_path(settings.home, project).is_file()


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame as JSON-ready dicts: numpy scalars as Python numbers, NaN as null, ``*_ms`` times also in ISO."""
    out = []
    for row in json.loads(df.to_json(orient="records")):
        for key in [k for k in row if k.endswith("_ms")]:
            if isinstance(row[key], float) and row[key].is_integer():  # an int column that had a null
                row[key] = int(row[key])
            if isinstance(row[key], int):
                row[key.removesuffix("_ms")] = iso(row[key])
        out.append(row)
    return out


def when(ms: Any) -> str:
    """A time for tables: ISO 8601 in UTC to the minute (``2026-11-30T15:20Z``), seconds only when it has
    some; ``-`` when missing.

    >>> when(1_764_516_000_000), when(1_764_516_030_500), when(None)
    ('2025-11-30T15:20Z', '2025-11-30T15:20:30.500Z', '-')
    """
    if ms is None or pd.isna(ms):
        return "-"
    t = from_ms(int(ms))
    if t.microsecond:
        return f"{t:%Y-%m-%dT%H:%M:%S}.{t.microsecond // 1000:03d}Z"
    return f"{t:%Y-%m-%dT%H:%M:%SZ}" if t.second else f"{t:%Y-%m-%dT%H:%MZ}"


def window(start_ms: Any, end_ms: Any) -> str:
    """A window for tables: ``2026-11-30T15:20Z/15:30Z`` (the end's date only when it differs).

    >>> window(1_764_516_000_000, 1_764_516_600_000)
    '2025-11-30T15:20Z/15:30Z'
    """
    start, end = when(start_ms), when(end_ms)
    if start[:11] == end[:11] and end != "-":
        end = end[11:]
    return f"{start}/{end}"


def text_table(df: pd.DataFrame, columns: list[str], *, right: Sequence[str] = ()) -> str:
    """``columns`` of ``df`` as plain text, two spaces apart: text left-aligned, numbers (and the ``right``
    columns, numbers already formatted as text) right-aligned.

    >>> print(text_table(pd.DataFrame({"name": ["a", "bcd"], "n": [1, 20]}), ["name", "n"]))
    name   n
    a      1
    bcd   20
    """
    cells = [[column, *("-" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v) for v in df[column])]
             for column in columns]
    aligned = [column in right or (pd.api.types.is_numeric_dtype(df[column])
                                   and not pd.api.types.is_bool_dtype(df[column])) for column in columns]
    widths = [max(len(c) for c in column) for column in cells]
    lines = []
    for row in zip(*cells, strict=True):
        parts = [cell.rjust(w) if r else cell.ljust(w) for cell, w, r in zip(row, widths, aligned, strict=True)]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def endpoint_columns(df: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """``df`` with ``endpoint`` (the name, or the id when it has none) and ``id`` (short) columns for tables."""
    ids = df["endpoint_id"].astype(str)
    return df.assign(endpoint=[names.get(i) or i for i in ids], id=[short_id(i) for i in ids])


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("endpoints", help="list the model endpoints of a project",
                                   description="List model endpoints: requests, errors, latency, drift status.")
    add_home_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings, backend = open_home(args)
    try:
        df = list_endpoints(backend, settings.project)
    finally:
        backend.close()
    if args.json:
        print(json.dumps(records(df), indent=2))
    else:
        print(format_table(df, settings.project))
    return 0


def format_table(df: pd.DataFrame, project: str) -> str:
    if df.empty:
        return f"project {project!r} has no model endpoints"
    shown = df.assign(
        id=[short_id(i) for i in df["endpoint_id"]],
        last_request=[when(t) for t in df["last_request_ms"]],
        latency_avg_us=df["latency_avg_us"].round(1),
        drift_status=df["drift_status_name"],
        not_analysed=[_skipped(f, u) for f, u in zip(df["skipped_from_ms"], df["skipped_until_ms"], strict=True)],
    )
    columns = _TABLE
    sampled = (df["estimated_prediction_count"] != df["request_count"]).any()
    if sampled:  # sampled traffic: the predictions its tracked requests stand for, next to them
        shown = shown.assign(predictions=df["estimated_prediction_count"].round(0).astype(int))
        columns = [*_TABLE[:4], "predictions", *_TABLE[4:]]
    return text_table(shown, columns)


def _skipped(start: Any, until: Any) -> str:
    """Traffic older than where analysis starts (``modelmon backfill`` analyses it), or ``-``."""
    if pd.isna(until) or pd.isna(start):
        return "-"
    return f"{when(start)} .. {when(until)}"
