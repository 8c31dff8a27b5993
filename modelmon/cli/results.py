"""``modelmon results``: the monitoring results of a project (latest per result, or the history) and app failures."""

from __future__ import annotations

import argparse
import json
from typing import Any

import pandas as pd

from modelmon.cli.endpoints import add_home_options, open_home, records
from modelmon.core.timeutil import from_ms, now_ms
from modelmon.queries import app_failures, latest_results, parse_since, resolve_endpoint, result_history

_TABLE = ["endpoint_id", "app_name", "result_name", "window", "value", "status", "kind"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "results", help="show monitoring results and application failures",
        description="The latest result per endpoint, app and result name (or every window with --history), "
                    "then the windows an application failed on.",
    )
    add_home_options(parser)
    parser.add_argument("--endpoint", metavar="ID", help="only this endpoint (id, unique id prefix, or name)")
    parser.add_argument("--app", metavar="NAME", help="only this application")
    parser.add_argument("--since", metavar="WHEN",
                        help="only windows ending at or after WHEN: 30m, 2h, 1d, epoch ms or an ISO time")
    parser.add_argument("--history", action="store_true", help="every window's result (TSDB), not just the latest")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings, backend = open_home(args)
    try:
        since = parse_since(args.since, now_ms()) if args.since else None
        endpoint = resolve_endpoint(backend, settings.project, args.endpoint) if args.endpoint else None
        query = result_history if args.history else latest_results
        results = query(backend, settings.project, endpoint_id=endpoint, app_name=args.app, since_ms=since)
        failures = app_failures(backend, settings.project, endpoint_id=endpoint, app_name=args.app, since_ms=since)
    finally:
        backend.close()
    if args.json:
        print(json.dumps({"results": records(results), "failures": records(failures)}, indent=2))
    else:
        print(format_tables(results, failures))
    return 0


def format_tables(results: pd.DataFrame, failures: pd.DataFrame) -> str:
    """The results table, then the failures (if any)."""
    if results.empty:
        text = "no results"
    else:
        shown = results.assign(window=[_window(s, e) for s, e in zip(results["start_ms"], results["end_ms"],
                                                                      strict=True)],
                               status=results["status_name"], kind=results["kind_name"],
                               value=[f"{v:.6g}" for v in results["value"]])
        text = shown[_TABLE].to_string(index=False)
    if not failures.empty:
        shown = failures.assign(window=[_window(s, e) for s, e in zip(failures["start_ms"], failures["end_ms"],
                                                                       strict=True)])
        text += f"\n\n{len(failures)} failed window(s):\n"
        text += shown[["endpoint_id", "app_name", "window", "error"]].to_string(index=False)
    return text


def _window(start_ms: int, end_ms: int) -> str:
    start, end = from_ms(start_ms), from_ms(end_ms)
    return f"{start:%Y-%m-%d %H:%M}-{end:%H:%M}" if start.date() == end.date() else f"{start}-{end}"
