"""``modelmon up`` / ``down`` / ``logs``: the home's background service (:mod:`modelmon.service`) from the shell."""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any, TextIO

import yaml

from modelmon.core.config import ENV_BASE_PERIOD, ENV_PROJECT, Settings
from modelmon.deploy.targets import LocalTarget
from modelmon.functions.roles import Role, role_of
from modelmon.service import HomeLayout, read_state, start_service, stop_service
from modelmon.service.desired import CONFIG, desired_names

_HOME_HELP = "modelmon home (default: $MODELMON_HOME or .modelmon)"


def register(subparsers: Any) -> None:
    up = subparsers.add_parser(
        "up", help="start the home's background service and enable a project's monitoring",
        description="Start the home's service if it is not running (it keeps running after this command exits) "
                    "and make sure the project's stream, controller, writer, labels and histogram-drift functions, "
                    "and every app registered with it, run in it.",
    )
    up.add_argument("--home", help=_HOME_HELP)
    up.add_argument("--project", help="project name (default: $MODELMON_PROJECT or 'default')")
    up.add_argument("--base-period", type=int, metavar="MINUTES",
                    help="window length in minutes (default: the project's, 10 for a new project)")
    up.add_argument("--controller-interval", metavar="INTERVAL",
                    help="how often the controller looks for closed windows, e.g. 1s (default: every base period)")
    up.add_argument("--bundle", help="bundle directory (default: the current directory if it has a function.yaml, "
                                     "else modelmon's checkout)")
    up.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                    help="how long functions may take to start")
    up.set_defaults(func=run_up)

    down = subparsers.add_parser(
        "down", help="stop the home's background service and every function it runs",
        description="Stop the home's service: every function of every project stops (SIGTERM, then SIGKILL after "
                    "the timeout). The desired functions stay on disk; the next 'modelmon up' starts them again.",
    )
    down.add_argument("--home", help=_HOME_HELP)
    down.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                      help="how long to wait before killing what has not stopped")
    down.set_defaults(func=run_down)

    logs = subparsers.add_parser(
        "logs", help="show the log of a function the service runs",
        description="Print the last lines of one function's log (or of every function's, each line prefixed "
                    "with the function name); with -f keep printing what they add. Logs live in "
                    "<home>/logs/<project>/<function>.log, the service's own in <home>/logs/service.log.",
    )
    logs.add_argument("function", nargs="?", metavar="FUNCTION",
                      help="the function, or the end of its name (writer: model-monitoring-writer); default: all")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines until Ctrl-C")
    logs.add_argument("-n", "--lines", type=int, default=20, metavar="N", help="how many last lines (default: 20)")
    logs.add_argument("--home", help=_HOME_HELP)
    logs.add_argument("--project", help="project name (default: $MODELMON_PROJECT, else the home's only project "
                                        "with logs, else 'default')")
    logs.set_defaults(func=run_logs)


def run_up(args: argparse.Namespace) -> int:
    from modelmon.project import get_or_create_project  # the SDK loads nuclio-jupyter: only here

    settings = _settings(args)
    service = start_service(settings.home)
    how = "already running" if service.already_running else "started"
    print(f"modelmon service {how} (pid {service.pid}, home {service.home})", flush=True)
    interval = args.controller_interval or _custom_interval(settings.home, settings.project)
    with get_or_create_project(settings.project, home=settings.home, bundle_dir=args.bundle,
                               controller_interval=interval) as project:
        if isinstance(project.target, LocalTarget):
            project.target.ready_timeout_s = args.timeout
        base_period = args.base_period if args.base_period is not None else project.base_period
        try:
            project.enable_model_monitoring(base_period, wait_for_deployment=True)
        except TimeoutError as exc:
            print(f"modelmon: error: {exc}", file=sys.stderr)
            return 1
        names = project.target.running()
    print(f"project {settings.project}: {len(names)} functions running (base period {base_period} min): "
          f"{', '.join(names)}")
    layout = HomeLayout(settings.home)
    print(f"logs: {layout.project_logs(settings.project)}/ (modelmon logs [FUNCTION] -f); "
          f"status: modelmon status; stop: modelmon down")
    return 0


def run_down(args: argparse.Namespace) -> int:
    home = _settings(args).home
    info = stop_service(home, timeout=args.timeout)
    if info is None:
        print(f"no modelmon service running (home {os.path.abspath(home)})")
        return 0
    count = sum(len(names) for names in info.functions.values())
    since = datetime.datetime.fromtimestamp(info.started_ms / 1000, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    print(f"stopped the modelmon service (pid {info.pid}, home {info.home}, up since {since}) "
          f"and its {count} functions")
    for project, names in sorted(info.functions.items()):
        print(f"  {project}: {', '.join(names) or '-'}")
    return 0


def run_logs(args: argparse.Namespace) -> int:
    layout = HomeLayout(_settings(args).home)
    if not layout.home.is_dir():
        print(f"modelmon: error: no modelmon home at {layout.home} (use --home or MODELMON_HOME)", file=sys.stderr)
        return 1
    project = _logs_project(args, layout)
    known = _known_functions(layout, project)
    short = [name for name in known if name.endswith(f"-{args.function}")]
    if args.function is not None and args.function not in known and len(short) == 1:
        args.function = short[0]  # "writer" for "model-monitoring-writer"
    if args.function is not None and args.function not in known:
        listed = ", ".join(known) if known else "none yet"
        print(f"modelmon: error: project {project!r} has no function {args.function!r} (known: {listed})",
              file=sys.stderr)
        return 1
    if args.lines < 0:
        print("modelmon: error: -n must be 0 or more", file=sys.stderr)
        return 1
    chosen = [args.function] if args.function is not None else known
    files = {name: layout.function_log(project, name) for name in chosen}
    prefix = args.function is None
    for name, path in files.items():
        for line in _last_lines(path, args.lines):
            print(f"{name} | {line}" if prefix else line)
    if args.follow:
        _follow(files, prefix, sys.stdout)
    return 0


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {k: v for k, v in (("home", args.home), ("project", getattr(args, "project", None))) if v}
    return Settings.from_env(os.environ, **overrides)


def _custom_interval(home: str, project: str) -> str | None:
    """The controller interval an earlier ``up --controller-interval`` set (kept: a plain ``up`` changes
    nothing that runs); ``None`` when the controller runs once per base period, or is not set up yet."""
    for name in desired_names(home, project):
        config = yaml.safe_load((HomeLayout(home).functions_dir(project) / name / CONFIG).read_text(encoding="utf-8"))
        if role_of(config) is not Role.CONTROLLER:
            continue
        base = next((e.get("value") for e in config["spec"].get("env", []) if e.get("name") == ENV_BASE_PERIOD), None)
        for trigger in (config["spec"].get("triggers") or {}).values():
            interval = (trigger.get("attributes") or {}).get("interval") if trigger.get("kind") == "cron" else None
            if interval and interval != f"{base}m":
                return str(interval)
    return None


def _logs_project(args: argparse.Namespace, layout: HomeLayout) -> str:
    if args.project or os.environ.get(ENV_PROJECT):
        return str(args.project or os.environ[ENV_PROJECT])
    projects = sorted(p.name for p in layout.logs_dir.iterdir() if p.is_dir()) if layout.logs_dir.is_dir() else []
    return projects[0] if len(projects) == 1 else "default"


def _known_functions(layout: HomeLayout, project: str) -> list[str]:
    logged = {p.stem for p in layout.project_logs(project).glob("*.log")} if layout.project_logs(project).is_dir() \
        else set()
    state = read_state(layout.home) or {}
    running = set(state.get("projects", {}).get(project, {}).get("functions", {}))
    return sorted(logged | running | set(desired_names(layout.home, project)))


def _last_lines(path: Path, count: int) -> list[str]:
    """The last ``count`` lines of ``path``, reaching into the previous rotated file when it is short."""
    lines: deque[str] = deque(maxlen=count or None)
    if count == 0:
        return []
    for part in (path.with_name(path.name + ".1"), path):
        if part.is_file():
            with open(part, encoding="utf-8", errors="replace") as file:
                lines.extend(line.rstrip("\n") for line in file)
    return list(lines)


def _follow(files: dict[str, Path], prefix: bool, out: TextIO) -> None:
    """Print what the files gain until interrupted; a rotated (replaced or shortened) file is read from its start."""
    positions = {name: (_inode(path), path.stat().st_size if path.is_file() else 0) for name, path in files.items()}
    while True:
        for name, path in files.items():
            inode, offset = positions[name]
            if not path.is_file():
                continue
            if _inode(path) != inode or path.stat().st_size < offset:
                inode, offset = _inode(path), 0
            with open(path, "rb") as file:
                file.seek(offset)
                chunk = file.read()
            complete = chunk[:chunk.rfind(b"\n") + 1]  # a half-written last line waits for its end
            for line in complete.decode("utf-8", errors="replace").splitlines():
                out.write(f"{name} | {line}\n" if prefix else f"{line}\n")
            positions[name] = (inode, offset + len(complete))
        out.flush()
        time.sleep(0.2)


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except OSError:
        return None
