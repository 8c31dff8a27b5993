"""``modelmon run``: run a bundle's functions locally until interrupted (Ctrl-C or SIGTERM)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from typing import Any

from modelmon.core.config import ENV_HOME, ENV_PROJECT, Settings
from modelmon.local_nuclio import FunctionStatus, LocalRuntime
from modelmon.local_nuclio.worker import LOG_FORMATS


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run", help="run the bundle's functions locally with Nuclio's trigger semantics",
        description="Run each function.yaml of the bundle in its own process until interrupted.",
    )
    parser.add_argument("--bundle", default=".", help="bundle directory (default: the current directory)")
    parser.add_argument("--function", "-f", action="append", dest="functions", metavar="NAME",
                        help="run only this function (repeatable; default: all)")
    parser.add_argument("--home", help="modelmon home of the local backend (default: $MODELMON_HOME or .modelmon)")
    parser.add_argument("--project", help="project name (default: $MODELMON_PROJECT or 'default')")
    parser.add_argument("--http-port-base", type=int, metavar="PORT",
                        help="HTTP triggers listen on PORT, PORT+1, ... (default: their function.yaml port)")
    parser.add_argument("--log-format", choices=LOG_FORMATS, default="human", help="function log lines on stderr")
    parser.add_argument("--ready-timeout", type=float, default=60.0, metavar="SECONDS",
                        help="how long functions may take to initialise")
    parser.set_defaults(func=run)


def describe(status: FunctionStatus) -> str:
    """One line per function: its pid and what each trigger listens to."""
    parts = []
    for t in status.triggers:
        if t["kind"] == "http":
            parts.append(f"http {t['name']} on http://{t['host']}:{t['port']}")
        elif t["kind"] == "cron":
            parts.append(f"cron {t['name']} {t['schedule']}")
        else:
            parts.append(f"{t['kind']} {t['name']} <- {', '.join(t['paths'])} (group {t['group']})")
    return f"started {status.name} (pid {status.pid}): {'; '.join(parts) or 'no triggers'}"


def run(args: argparse.Namespace) -> int:
    overrides = {k: v for k, v in (("home", args.home), ("project", args.project)) if v}
    settings = Settings.from_env(os.environ, **overrides)
    # flags win over a function.yaml's env, which wins over $MODELMON_* and the defaults
    flags = {ENV_HOME: args.home and os.path.abspath(args.home), ENV_PROJECT: args.project}
    explicit = {name: value for name, value in flags.items() if value}
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("modelmon run: %(message)s"))
    runtime_log = logging.getLogger("modelmon.local_nuclio")
    runtime_log.addHandler(handler)
    runtime_log.setLevel(logging.INFO)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    runtime = LocalRuntime(args.bundle, settings, args.functions, args.http_port_base, log_format=args.log_format,
                           explicit=explicit)
    try:
        runtime.start()
        try:
            runtime.wait_ready(args.ready_timeout)
        except TimeoutError as exc:
            print(f"modelmon: error: {exc}", file=sys.stderr)
            return 1
        for status in runtime.status().values():
            print(describe(status), flush=True)
        print(f"modelmon run: {len(runtime.status())} function(s) running (home {settings.home}, "
              f"project {settings.project}); Ctrl-C to stop", flush=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        runtime.stop()
        signal.signal(signal.SIGTERM, previous)
        runtime_log.removeHandler(handler)
    return 0
