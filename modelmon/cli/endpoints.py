"""``modelmon endpoints``: the model endpoints of a project, with traffic counters and drift status."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from modelmon.backends import Backend, make_backend
from modelmon.core.config import Settings
from modelmon.core.errors import NotFound
from modelmon.core.timeutil import iso
from modelmon.queries import list_endpoints

_TABLE = ["endpoint_id", "name", "model_version", "request_count", "error_count", "latency_avg_us", "last_request",
          "drift_status", "not_analysed"]


def add_home_options(parser: argparse.ArgumentParser) -> None:
    """``--home``, ``--project`` and ``--json``, shared by the commands that read a home."""
    parser.add_argument("--home", help="modelmon home of the local backend (default: $MODELMON_HOME or .modelmon)")
    parser.add_argument("--project", help="project name (default: $MODELMON_PROJECT or 'default')")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def open_home(args: argparse.Namespace) -> tuple[Settings, Backend]:
    """The settings and backend the options name; a local home that does not exist is an error (not created)."""
    overrides = {k: v for k, v in (("home", args.home), ("project", args.project)) if v}
    settings = Settings.from_env(os.environ, **overrides)
    if settings.backend == "local" and not Path(settings.home).is_dir():
        raise NotFound(f"no modelmon home at {settings.home} (use --home or MODELMON_HOME)")
    return settings, make_backend(settings)


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
        last_request=[iso(t) if pd.notna(t) else "-" for t in df["last_request_ms"]],
        latency_avg_us=df["latency_avg_us"].round(1),
        drift_status=df["drift_status_name"],
        not_analysed=[_skipped(f, u) for f, u in zip(df["skipped_from_ms"], df["skipped_until_ms"], strict=True)],
    )
    return shown[_TABLE].to_string(index=False)


def _skipped(start: Any, until: Any) -> str:
    """Traffic older than where analysis starts (``modelmon backfill`` analyses it), or ``-``."""
    if pd.isna(until) or pd.isna(start):
        return "-"
    return f"{iso(int(start))} .. {iso(int(until))}"
