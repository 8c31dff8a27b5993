"""``modelmon demo``: run the pipeline locally on generated traffic with known drift, print what it found."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelmon.demo import DemoConfig, run_demo
from modelmon.demo.session import DEFAULT_HOME, MAX_ROWS_PER_WINDOW


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo", help="run the monitoring pipeline on generated traffic with known drift",
        description="Start the functions locally on a fresh home, send tracked traffic for three endpoints "
                    "(A undrifted, B gradual drift, C sudden shift) and print the results per endpoint.",
    )
    parser.add_argument("--home", default=DEFAULT_HOME,
                        help=f"demo home, wiped at start (default: {DEFAULT_HOME})")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout (progress on stderr)")
    parser.add_argument("--windows", type=whole_number(1), default=8, help="one-minute windows of traffic per endpoint")
    parser.add_argument("--rows", type=whole_number(1, MAX_ROWS_PER_WINDOW), default=500,
                        help=f"rows (tracked predictions) per window and endpoint, at most {MAX_ROWS_PER_WINDOW:,}")
    parser.add_argument("--seed", type=whole_number(0), default=0,
                        help="seed of the generated traffic (same seed, same rows)")
    parser.add_argument("--bundle", help="bundle directory (default: the current directory if it holds a root "
                                         "function.yaml, else the modelmon checkout)")
    parser.add_argument("--timeout", type=positive_seconds, default=90.0, metavar="SECONDS",
                        help="how long to wait for every window's results")
    parser.set_defaults(func=run)


def whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer in ``[low, high]``; anything else is a usage error naming the bounds."""
    def parse(text: str) -> int:
        bound = f"between {low} and {high}" if high is not None else f"of at least {low}"
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number {bound}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be a whole number {bound}, got {text!r}")
        return value
    return parse


def positive_seconds(text: str) -> float:
    """An argparse type: a number of seconds above 0."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    """Run the demo (everything is checked before its home is touched) and print the report; exit code 0."""
    config = DemoConfig(home=Path(args.home), windows=args.windows, rows_per_window=args.rows, seed=args.seed,
                        bundle_dir=Path(args.bundle) if args.bundle else None)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("modelmon demo: %(message)s"))
    runtime_log = logging.getLogger("modelmon.local_nuclio")
    runtime_log.addHandler(handler)
    runtime_log.setLevel(logging.WARNING)
    try:
        outcome = run_demo(config, progress=_progress, timeout_s=args.timeout)
    except TimeoutError as exc:
        print(f"modelmon demo: error: {exc}", file=sys.stderr)
        return 1
    finally:
        runtime_log.removeHandler(handler)
    if args.json:
        print(json.dumps(outcome.to_json()))
    else:
        print(outcome.to_text())
    return 0


def _progress(message: str) -> None:
    print(f"modelmon demo: {message}", file=sys.stderr, flush=True)
