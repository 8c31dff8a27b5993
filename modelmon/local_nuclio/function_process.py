"""The entry point of one function's OS process: ``python -m modelmon.local_nuclio.function_process``.

The supervisor starts it with the function's environment already in place. It imports the
handler, starts a :class:`~modelmon.local_nuclio.host.FunctionHost`, writes a ready file (pid and HTTP
ports) and runs until SIGTERM/SIGINT or until its supervisor disappears: the supervisor passes its pid,
so a supervisor that died while this process was still importing is noticed too (``os.getppid()`` read
after the imports would already name the new parent). Exit codes: 0 after a clean
shutdown, :data:`EXIT_CONFIG` for a problem a restart cannot fix (the one-line reason is in the
error file), anything else for a crash the supervisor restarts.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from modelmon.backends import make_backend
from modelmon.core.config import Settings
from modelmon.core.errors import ConfigError, CorruptStore
from modelmon.local_nuclio.handler import load_handler
from modelmon.local_nuclio.host import FunctionHost
from modelmon.local_nuclio.run_files import EXIT_CONFIG, error_file, ready_file
from modelmon.local_nuclio.spec import load_function
from modelmon.local_nuclio.trigger_spec import STREAM_KINDS
from modelmon.local_nuclio.worker import LOG_FORMATS, make_logger

STOP_TIMEOUT_S = 30.0


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="modelmon.local_nuclio.function_process")
    parser.add_argument("--function", required=True, help="the function's name (for the ready/error files)")
    parser.add_argument("--spec", required=True, help="the function.yaml")
    parser.add_argument("--bundle", required=True, help="bundle root, put on sys.path after the function's dir")
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--log-format", choices=LOG_FORMATS, default="human")
    parser.add_argument("--http-port", action="append", default=[], metavar="TRIGGER=PORT")
    parser.add_argument("--parent-pid", type=int, default=None, help="the supervisor's pid (default: the parent)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    parent = os.getppid() if args.parent_pid is None else args.parent_pid
    name, run_dir = args.function, Path(args.run_dir)
    if os.getppid() != parent:
        return 0  # the supervisor died before this process got here: nobody would stop it
    try:
        host = _start(args, Settings.from_env(os.environ))
    except (ConfigError, CorruptStore) as exc:
        message = str(exc).splitlines()[0]
        error_file(run_dir, name, os.getpid()).write_text(message, encoding="utf-8")
        return EXIT_CONFIG  # the supervisor reports the message
    if os.getppid() != parent:  # the supervisor died while the handler initialised
        host.stop(STOP_TIMEOUT_S)
        return 0
    ready = {"pid": os.getpid(), "triggers": host.info()}
    tmp = run_dir / f".{name}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(ready), encoding="utf-8")
    tmp.replace(ready_file(run_dir, name, os.getpid()))
    while not stop.wait(0.2):
        if host.fatal.is_set() or os.getppid() != parent:  # a fatal trigger error, or the supervisor is gone
            break
    host.stop(STOP_TIMEOUT_S)
    if host.fatal.is_set():
        print(f"modelmon run: {name}: stopped after {host.fatal_error!r}", file=sys.stderr)
        return 1
    return 0


def _start(args: argparse.Namespace, settings: Settings) -> FunctionHost:
    spec = load_function(args.spec)
    handler = load_handler(spec, extra_paths=[Path(args.bundle)])
    streams = None
    if any(t.kind in STREAM_KINDS for t in spec.triggers):
        streams = make_backend(settings).streams
    ports = {}
    for item in args.http_port:
        name, _, port = item.rpartition("=")
        ports[name] = int(port)
    host = FunctionHost(
        spec, handler, project=settings.project, logger=make_logger(spec.name, args.log_format),
        streams=streams, http_ports=ports,
    )
    host.start()
    return host


if __name__ == "__main__":
    sys.exit(main())
