"""``modelmon status``: the local service's functions (state, uptime, restarts, lag, last error) and every
registered app's progress (windows analysed and pending, failures of the last 24 h).

Exit code 0 when the home's service is running, 3 when it is not (as ``systemctl status``); the apps'
stored progress is shown either way.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from modelmon.backends import make_backend
from modelmon.cli.endpoints import add_home_options, window
from modelmon.core.config import Settings
from modelmon.core.errors import NotFound
from modelmon.core.timeutil import now_ms
from modelmon.service.app_progress import Failure, Window
from modelmon.service.state import read_state
from modelmon.service.status import (
    AppStatus,
    FunctionStatus,
    HomeStatus,
    ProjectStatus,
    check_project,
    home_status,
    known_projects,
)

EXIT_NOT_RUNNING = 3
STALE_STATE_MS = 10_000
_ERROR_CHARS = 70
_FAILURE_GROUPS = 5


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "status", help="show the local service's functions and each app's progress",
        description="Per function of the home's service: state, pid, uptime, restarts, records behind on its "
                    "streams and last error. Per registered app: whether its function runs, windows analysed "
                    "and pending, the oldest and newest analysed window, failures of the last 24 h. "
                    "Exit code 0 when the service is running, 3 when it is not.",
    )
    add_home_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env(os.environ, **{k: v for k, v in (("home", args.home), ("project", args.project))
                                                if v})
    if settings.backend == "local" and not Path(settings.home).is_dir():
        raise NotFound(f"no modelmon home at {settings.home} (use --home or MODELMON_HOME)")
    backend = make_backend(settings)  # the project is checked below: without --project, every one the home has
    try:
        state = read_state(settings.home)
        if args.project:
            check_project(backend, settings.home, state, args.project)
            projects = [args.project]
        else:
            projects = known_projects(backend, settings.home, state, [settings.project]) or [settings.project]
        status = home_status(backend, settings, projects, state, now_ms())
    finally:
        backend.close()
    print(json.dumps(status.to_json(), indent=2) if args.json else format_status(status))
    return 0 if status.running else EXIT_NOT_RUNNING


def format_status(status: HomeStatus) -> str:
    """The status as a person reads it: one block per project."""
    lines = [f"modelmon home {status.home}"]
    if status.service is not None:
        started, updated = status.service.get("started_ms"), status.service.get("updated_ms")
        up = duration((status.now_ms - started) / 1000) if isinstance(started, int) else "?"
        seen = f", state written {duration((status.now_ms - updated) / 1000)} ago" if isinstance(updated, int) else ""
        if isinstance(updated, int) and status.now_ms - updated > STALE_STATE_MS:
            seen += "; the service rewrites it every second: is it stuck?"
        lines.append(f"service: running (pid {status.service.get('pid')}, up {up}{seen})")
    else:
        lines.append(f"service: NOT running; start it with: modelmon up --home {shlex.quote(status.home)}")
    for project in status.projects:
        lines += ["", *format_project(project, status.now_ms)]
    return "\n".join(lines)


def format_project(p: ProjectStatus, now: int) -> list[str]:
    lines = [f"project {p.project}"]
    if p.functions:
        lines += _indent(table(["FUNCTION", "ROLE", "STATE", "PID", "UPTIME", "RESTARTS", "LAG", "LAST ERROR"],
                               [_function_row(f) for f in p.functions]))
    elif p.service_running:
        lines.append("  the service runs no function of this project")
    if p.apps:
        lines += [""] if p.functions else []
        lines += _indent(table(["APP", "RUNNING", "ANALYSED", "PENDING", "FAILED", "OLDEST WINDOW", "NEWEST WINDOW"],
                               [_app_row(a) for a in p.apps]))
    else:
        lines.append("  no monitoring application is registered" + ("" if p.functions else
                                                                      " (another project? name it with --project)"))
    failing = [a for a in p.apps if a.progress.failures_24h]
    if failing:
        lines += ["", "  failures in the last 24 h:"]
        for app in failing:
            lines += [f"    {line}" for line in _failure_lines(app.name, app.progress.failures_24h)]
    if p.warnings:
        lines += [""] + [f"  ! {w}" for w in p.warnings]
    return lines


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns two spaces apart; the last column is not padded."""
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [headers, *rows]]


def duration(seconds: float) -> str:
    """``42s``, ``5m12s``, ``1h02m``, ``3d04h``.

    >>> duration(42.7), duration(312), duration(3720), duration(273_600)
    ('42s', '5m12s', '1h02m', '3d04h')
    """
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def window_text(w: Window | None) -> str:
    """``2025-01-01T10:00Z/10:10Z`` (UTC, an ISO 8601 interval; the end's date too when it differs), or ``-``.

    >>> window_text(Window(1_764_516_000_000, 1_764_516_600_000))
    '2025-11-30T15:20Z/15:30Z'
    """
    return "-" if w is None else window(w.start_ms, w.end_ms)


def _function_row(f: FunctionStatus) -> list[str]:
    error = (f.last_error or "-").replace("\n", " ")
    if len(error) > _ERROR_CHARS:
        error = error[:_ERROR_CHARS - 3] + "..."
    return [f.name, f.role or "-", f.state, str(f.pid) if f.pid else "-",
            duration(f.uptime_s) if f.uptime_s is not None else "-", str(f.restarts),
            str(f.lag) if f.lag is not None else "-", error]


def _app_row(a: AppStatus) -> list[str]:
    running = "yes" if a.running else ("disabled" if not a.enabled else "NO")
    g = a.progress
    return [a.name, running, str(g.analysed), str(g.pending), str(g.failed), window_text(g.oldest),
            window_text(g.newest)]


def _failure_lines(app: str, failures: Sequence[Failure]) -> list[str]:
    """Failures grouped by error and place, newest group first: one line each with how many windows."""
    groups: dict[tuple[str | None, str, str | None], list[Failure]] = {}
    for f in failures:  # newest first
        groups.setdefault((f.error_type, f.message, f.location), []).append(f)
    lines = []
    for (error_type, message, location), group in list(groups.items())[:_FAILURE_GROUPS]:
        newest = group[0]
        where = f" at {_short_location(location)}" if location else ""
        endpoints = len({f.endpoint_id for f in group})
        text = f"{error_type}: {message}" if error_type else message
        lines.append(f"{app}: {text}{where} -- {len(group)} window(s), {endpoints} endpoint(s); last "
                     f"{newest.endpoint or newest.endpoint_id} {window_text(newest.window)}")
    if len(groups) > _FAILURE_GROUPS:
        lines.append(f"{app}: ... {len(groups) - _FAILURE_GROUPS} other error(s); modelmon results --app {app}")
    return lines


def _short_location(location: str) -> str:
    """``file:line`` with the file relative to the current directory when it is under it."""
    path, sep, line = location.rpartition(":")
    if not sep or not line.isdigit():
        return location
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive
        return location
    return f"{rel if not rel.startswith('..') else path}:{line}"


def _indent(lines: list[str]) -> list[str]:
    return [f"  {line}" for line in lines]
