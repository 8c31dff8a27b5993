"""``modelmon results``: what monitoring apps produced (results, metrics) and the windows they failed on."""

from __future__ import annotations

import argparse
import json
from pathlib import PurePath
from typing import Any

import pandas as pd

from modelmon.cli.endpoints import add_home_options, endpoint_columns, open_home, records, text_table, window
from modelmon.core.timeutil import now_ms
from modelmon.queries import (
    app_failures,
    check_app,
    endpoint_names,
    latest_metrics,
    latest_results,
    metric_history,
    parse_since,
    resolve_endpoint,
    result_history,
    with_endpoint_names,
)

_RESULTS = ["endpoint", "id", "app_name", "result_name", "window", "value", "status", "kind"]
_METRICS = ["endpoint", "id", "app_name", "metric_name", "window", "value"]
_FAILURES = ["endpoint", "id", "app_name", "window", "error", "location"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "results", help="show monitoring results, metrics and application failures",
        description="The latest result per endpoint, app and result name and the metrics of each app's latest "
                    "window (every window with --history; metrics only with --metrics), then the windows an "
                    "application failed on, with the exception type, message and file:line. Times are UTC.",
    )
    add_home_options(parser)
    parser.add_argument("--endpoint", metavar="ID", help="only this endpoint (id, unique id prefix, or name)")
    parser.add_argument("--app", metavar="NAME", help="only this application")
    parser.add_argument("--since", metavar="WHEN",
                        help="only windows ending at or after WHEN: 30m, 2h, 1d, epoch ms or an ISO time")
    parser.add_argument("--until", metavar="WHEN", help="only windows ending before WHEN (with --history)")
    parser.add_argument("--history", action="store_true",
                        help="every window (TSDB history), not just the latest; --json adds each extra_data")
    parser.add_argument("--metrics", action="store_true", help="the apps' metrics instead of their results")
    parser.add_argument("--traceback", action="store_true", help="print each failure's full traceback")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings, backend = open_home(args)
    project = settings.project
    try:
        now = now_ms()
        since = parse_since(args.since, now) if args.since else None
        until = parse_since(args.until, now, "--until") if args.until else None
        endpoint = resolve_endpoint(backend, project, args.endpoint) if args.endpoint else None
        scope: dict[str, Any] = {"endpoint_id": endpoint, "app_name": args.app, "since_ms": since}
        frames: dict[str, pd.DataFrame] = {}
        if not args.metrics:
            frames["results"] = result_history(backend, project, **scope, until_ms=until, extra_data=args.json) \
                if args.history else latest_results(backend, project, **scope)
        if args.metrics or not args.history:
            frames["metrics"] = metric_history(backend, project, **scope, until_ms=until) if args.history \
                else latest_metrics(backend, project, **scope)
        frames["failures"] = app_failures(backend, project, **scope)
        if args.app and all(df.empty for df in frames.values()):
            check_app(backend, project, args.app)  # nothing shown: say whether the app exists at all
        names = endpoint_names(backend, project)
    finally:
        backend.close()
    if args.json:
        print(json.dumps({key: records(with_endpoint_names(df, names)) for key, df in frames.items()}, indent=2))
    else:
        print(format_tables(frames, names, tracebacks=args.traceback))
    return 0


def format_tables(frames: dict[str, pd.DataFrame], names: dict[str, str], *, tracebacks: bool = False) -> str:
    """The results (or metrics) table, the latest metrics after the latest results, then the failures."""
    blocks = []
    results, metrics = frames.get("results"), frames.get("metrics")
    if results is not None:
        blocks.append(_table(results, names, _RESULTS) if len(results) else "no results")
    if metrics is not None and (len(metrics) or results is None):
        heading = "metrics:\n" if results is not None else ""
        blocks.append(heading + _table(metrics, names, _METRICS) if len(metrics) else "no metrics")
    failures = frames["failures"]
    if len(failures):
        text = f"{len(failures)} failed window(s):\n" + _table(failures, names, _FAILURES)
        if tracebacks:
            shown = endpoint_columns(failures, names).assign(window=_windows(failures))
            for r in shown.to_dict("records"):
                stored = str(r["traceback"] or "").rstrip() or "(no traceback stored)"
                text += f"\n\n{r['endpoint']} {r['app_name']} {r['window']}:\n{stored}"
        blocks.append(text)
    return "\n\n".join(blocks)


def _table(df: pd.DataFrame, names: dict[str, str], columns: list[str]) -> str:
    shown = endpoint_columns(df, names).assign(window=_windows(df))
    if "value" in shown:
        shown["value"] = [_value(v) for v in shown["value"]]
    if "status_name" in shown:
        shown = shown.assign(status=shown["status_name"], kind=shown["kind_name"])
    if "location" in shown:  # the error is "<type>: <message>"; where: the file's name and line
        shown = shown.assign(location=[PurePath(loc).name if loc else "-" for loc in shown["location"]],
                             error=[_one_line(e) for e in shown["error"]])
    return text_table(shown, columns, right=["value"])


def _value(value: Any) -> str:
    """A result's value to 6 significant digits; a missing one (NaN, kept as MLRun keeps it) as ``-``."""
    return "-" if value is None or value != value else f"{value:.6g}"


def _windows(df: pd.DataFrame) -> list[str]:
    return [window(s, e) for s, e in zip(df["start_ms"], df["end_ms"], strict=True)]


def _one_line(text: Any, limit: int = 120) -> str:
    line = " ".join(str(text or "").split())
    return line if len(line) <= limit else line[: limit - 3] + "..."

