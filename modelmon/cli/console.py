"""The console script: the parser built from every command module, and errors mapped to exit codes.

Exit codes: 0 success; 1 a user error (a :class:`ModelmonError` such as ``NotFound``, a ``ValueError`` or a
missing file), its message on stderr as one line; 2 a usage error argparse found (unknown option, missing
argument) or no command; 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import sys
from collections.abc import Sequence

from modelmon.core.errors import ModelmonError

COMMANDS: list[str] = [  # the command modules (each registers its sub-commands), one per line
    "alerts",
    "artifacts",
    "backfill",
    "batch_infer",
    "demo",
    "deploy",
    "endpoints",
    "report",
    "results",
    "run",
    "service",
    "status",
    "ui",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="modelmon", description="Model monitoring for Nuclio functions.")
    parser.add_argument("--version", action="version", version=f"modelmon {version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"modelmon.cli.{name}").register(subparsers)
    return parser


def version() -> str:
    """The installed package's version (its metadata), or the source tree's when it is not installed."""
    try:
        return importlib.metadata.version("modelmon")
    except importlib.metadata.PackageNotFoundError:
        from modelmon import __version__

        return __version__


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ModelmonError, ValueError, FileNotFoundError) as exc:
        print(f"modelmon: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
