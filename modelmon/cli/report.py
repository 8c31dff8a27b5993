"""``modelmon report``: one endpoint's page as a single offline HTML file (see :mod:`modelmon.ui.report`)."""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path
from typing import Any

from modelmon.cli.endpoints import open_home
from modelmon.core.timeutil import now_ms
from modelmon.queries import parse_since
from modelmon.ui.context import UIContext
from modelmon.ui.report import REPORT_RANGE_MS, build_report


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report", help="write one endpoint's charts as a self-contained HTML file",
        description="Write the endpoint page of 'modelmon ui' (results with thresholds, metrics, per-feature drift "
                    "with the latest window's histograms, traffic, data quality, alerts) as one HTML file that "
                    "opens offline: scripts, styles and data are inside it. Times are UTC.",
    )
    parser.add_argument("--endpoint", required=True, metavar="ID", help="the endpoint (id, unique id prefix, or name)")
    parser.add_argument("--home", help="modelmon home of the local backend (default: $MODELMON_HOME or .modelmon)")
    parser.add_argument("--project", help="project name (default: $MODELMON_PROJECT, else the home's only project, "
                                          "else 'default')")
    parser.add_argument("--since", metavar="WHEN", help="windows ending at or after WHEN: 30m, 2h, 1d, epoch ms or an "
                        f"ISO time (default: {REPORT_RANGE_MS // 86_400_000} days before --until)")
    parser.add_argument("--until", metavar="WHEN", help="windows ending before WHEN (default: the endpoint's latest "
                                                        "data)")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="the HTML file to write (default: <endpoint name>-report.html here)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    settings, backend = open_home(args)
    try:
        now = now_ms()
        since = parse_since(args.since, now) if args.since else None
        until = parse_since(args.until, now, "--until") if args.until else None
        report = build_report(UIContext(settings, backend, settings.project), args.endpoint, since, until)
    finally:
        backend.close()
    name = report.endpoint.name or report.endpoint.endpoint_id
    output = Path(args.output) if args.output else Path(f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}-report.html")
    output.write_text(report.html, encoding="utf-8")
    print(f"wrote {output} ({report.size / 1e6:.2f} MB in {time.perf_counter() - started:.1f}s): endpoint {name}, "
          f"{report.windows} windows, {report.results} results, {report.histograms} window histograms; "
          f"open it in a browser (it needs no network)")
    return 0
