"""Starting and stopping a home's service from any process (the CLI, the SDK, a test).

:func:`start_service` returns the running service if there is one; otherwise it launches
``python -m modelmon.service --detach`` in its own session, with no terminal and none of the caller's
stdio, and waits for the line ``ready <pid>`` on a pipe: the service is then holding the lock and has
written ``state.json``. Functions start within a second after that (:func:`wait_for_versions` waits for
particular ones). :func:`stop_service` sends SIGTERM and waits; a service that does not exit in time is
killed, and so are any of its function processes still alive, so no process of the home outlives it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import modelmon
from modelmon.core.errors import DeploymentFailed, ModelmonError
from modelmon.local_nuclio.run_files import process_alive
from modelmon.service.layout import HomeLayout
from modelmon.service.processes import kill_all, service_processes
from modelmon.service.state import read_state


@dataclasses.dataclass(frozen=True)
class ServiceInfo:
    """A home's service: its pid, when it started, its log, and the functions it ran per project."""

    pid: int
    home: str
    started_ms: int
    log: str
    already_running: bool = False  # start_service found it running
    functions: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_state(cls, state: Mapping[str, Any], *, already_running: bool = False) -> ServiceInfo:
        functions = {project: tuple(entry.get("functions", {})) for project, entry in state["projects"].items()}
        return cls(pid=state["pid"], home=state["home"], started_ms=state["started_ms"], log=state["log"],
                   already_running=already_running, functions=functions)


def start_service(home: str | os.PathLike[str], *, timeout: float = 30.0, env: Mapping[str, str] | None = None,
                  poll_s: float = 1.0, stop_timeout_s: float = 10.0) -> ServiceInfo:
    """The home's running service, started in the background if none is (see the module docstring).

    ``env`` (default: this process's environment) becomes the functions' base environment; ``poll_s``: how
    often the service reads the desired state; ``stop_timeout_s``: how long a function may take to stop
    before the service kills it. The three apply only when this call starts the service.
    """
    layout = HomeLayout(home)
    state = read_state(layout.home)
    if state is not None:
        return ServiceInfo.from_state(state, already_running=True)
    layout.service_dir.mkdir(parents=True, exist_ok=True)
    layout.logs_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ if env is None else env)
    package_root = str(Path(modelmon.__file__).resolve().parents[1])  # importable even from an uninstalled checkout
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    read_fd, write_fd = os.pipe()
    cmd = [sys.executable, "-m", "modelmon.service", "--home", str(layout.home), "--notify-fd", str(write_fd),
           "--detach", "--poll", str(poll_s), "--stop-timeout", str(stop_timeout_s)]
    deadline = time.monotonic() + timeout
    try:
        with open(layout.service_log, "ab") as errors:  # what goes wrong before the service's logging starts
            launcher = subprocess.Popen(cmd, pass_fds=(write_fd,), start_new_session=True, cwd=layout.home, env=env,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors)
        os.close(write_fd)
        launcher.wait(timeout)  # it forks the service and exits at once
        message = _read_line(read_fd, deadline)
    finally:
        os.close(read_fd)
    if message.startswith("ready") or message == "busy":  # busy: another caller's service won the race
        while (state := read_state(layout.home)) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if state is not None:
            return ServiceInfo.from_state(state, already_running=message == "busy")
    raise ModelmonError(f"the modelmon service for {layout.home} did not start{_log_tail(layout.service_log)} "
                        f"(log: {layout.service_log})")


def stop_service(home: str | os.PathLike[str], *, timeout: float = 30.0) -> ServiceInfo | None:
    """Stop the home's service and every function it runs; returns what was running (``None``: nothing).

    Afterwards no process of the home is alive: a service still running after ``timeout`` seconds is
    killed, then its leftover function processes too.
    """
    layout = HomeLayout(home)
    state = read_state(layout.home)
    if state is None:
        kill_all(service_processes(layout.home))  # leftovers of a service that was killed
        return None
    pid = state["pid"]
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    kill_all(service_processes(layout.home, pid))  # empty unless the service hung or was killed meanwhile
    return ServiceInfo.from_state(state)


def wait_for_versions(home: str | os.PathLike[str], project: str, versions: Mapping[str, str], *,
                      timeout: float = 60.0) -> dict[str, dict[str, Any]]:
    """Wait until the service runs each function of ``versions`` (name -> version) at that version, ready.

    Returns their ``state.json`` entries. A function that cannot start, or keeps crashing, is a
    :class:`DeploymentFailed` with its last error and log file; ``TimeoutError`` names those still not
    running after ``timeout`` seconds; a service that is not running is a :class:`ModelmonError`.
    """
    layout = HomeLayout(home)
    deadline = time.monotonic() + timeout
    while True:
        state = read_state(layout.home)
        if state is None:
            raise ModelmonError(f"the modelmon service of {layout.home} is not running (log: {layout.service_log})")
        functions = state["projects"].get(project, {}).get("functions", {})
        pending = []
        for name, version in versions.items():
            entry = functions.get(name)
            if entry is None or entry.get("version") != version:
                pending.append(name)
            elif entry["state"] == "failed" or (entry["state"] == "restarting" and entry["restarts"] >= 2):
                why = "cannot start" if entry["state"] == "failed" else f"keeps crashing ({entry['restarts']} restarts)"
                raise DeploymentFailed(name, f"{why}: {entry['last_error']} (log: {entry['log']})")
            elif entry["state"] != "running":
                pending.append(name)
        if not pending:
            return {name: functions[name] for name in versions}
        if time.monotonic() > deadline:
            raise TimeoutError(f"functions not running after {timeout:g}s: {', '.join(sorted(pending))} "
                               f"(logs: {layout.project_logs(project)})")
        time.sleep(0.1)


def wait_for_removal(home: str | os.PathLike[str], project: str, names: list[str], *, timeout: float = 60.0) -> None:
    """Wait until the service runs none of ``names`` (returns at once if no service runs)."""
    deadline = time.monotonic() + timeout
    while (state := read_state(home)) is not None:
        functions = state["projects"].get(project, {}).get("functions", {})
        left = sorted(set(names) & set(functions))
        if not left:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"functions still running after {timeout:g}s: {', '.join(left)}")
        time.sleep(0.1)


def _read_line(fd: int, deadline: float) -> str:
    """The first line the service writes on the pipe ('' if it closed it, or exited, without one)."""
    data = b""
    while b"\n" not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            break
        chunk = os.read(fd, 256)
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", errors="replace").partition("\n")[0].strip()


def _log_tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-lines:]
    except OSError:
        return ""
    return (":\n  " + "\n  ".join(text)) if text else ""
