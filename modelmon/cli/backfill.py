"""``modelmon backfill``: have the controller analyse an endpoint's past traffic from a given time on."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from modelmon.cli.endpoints import add_home_options, open_home
from modelmon.controller.backfill import backfill
from modelmon.controller.schedule import MAX_WINDOWS_PER_RUN
from modelmon.core.timeutil import iso, now_ms
from modelmon.queries import parse_since, resolve_endpoint


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "backfill", help="analyse an endpoint's past traffic (older than the backfill horizon, or again)",
        description="Set where the endpoint's analysis starts back to --since; the next controller runs "
                    f"dispatch the windows from there (at most {MAX_WINDOWS_PER_RUN} per app and run).",
    )
    add_home_options(parser)
    parser.add_argument("--endpoint", metavar="ID", required=True, help="the endpoint (id, unique id prefix, or name)")
    parser.add_argument("--since", metavar="WHEN", required=True,
                        help="analyse from WHEN on: 7d, 12h, epoch ms or an ISO time")
    parser.add_argument("--app", metavar="NAME", action="append", dest="apps",
                        help="only this application (repeatable; default: every app that monitors the endpoint)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings, backend = open_home(args)
    now = now_ms()
    try:
        endpoint = resolve_endpoint(backend, settings.project, args.endpoint)
        done = backfill(backend, settings.project, endpoint, parse_since(args.since, now), apps=args.apps,
                        base_period_minutes=settings.base_period_minutes, now=now)
    finally:
        backend.close()
    if args.json:
        print(json.dumps([dataclasses.asdict(b) for b in done], indent=2))
        return 0
    for b in done:
        if b.from_ms == b.until_ms:
            print(f"{b.app_name}: analysis of {b.endpoint_id} continues from {iso(b.from_ms)}; nothing to set back")
        else:
            print(f"{b.app_name}: windows of {b.endpoint_id} from {iso(b.from_ms)} to {iso(b.until_ms)} will be "
                  f"analysed by the next controller runs")
    return 0
