"""What the service tests share: toy functions, waiting on the service's state, and /proc checks.

The /proc check is written here rather than taken from modelmon.service: the tests judge the service's
own clean-up with an independent look at every process that names the home in its command line or
environment.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from modelmon.service import read_state, write_function

TOY = (Path(__file__).parent / "toy.py").read_bytes()
PROJECT = "toys"


def toy_yaml(name: str, state_dir: Path, *, interval: str = "300ms", **env: str) -> str:
    """A function.yaml whose cron trigger calls :mod:`toy` every ``interval``."""
    entries = {"TOY_NAME": name, "TOY_STATE": str(state_dir), **env}
    config = {
        "apiVersion": "nuclio.io/v1", "kind": "NuclioFunction", "metadata": {"name": name},
        "spec": {"handler": "toy:handler", "env": [{"name": k, "value": v} for k, v in entries.items()],
                 "triggers": {"tick": {"kind": "cron", "attributes": {"interval": interval}}}},
    }
    return yaml.safe_dump(config, sort_keys=False)


def write_toy(home: Path, name: str, **env: str) -> str:
    """Make toy function ``name`` a desired function of :data:`PROJECT`; returns its version."""
    state_dir = home.parent / "toy-state"
    state_dir.mkdir(parents=True, exist_ok=True)
    return write_function(home, PROJECT, name, toy_yaml(name, state_dir, **env), files={"toy.py": TOY})


def functions(home: Path, project: str = PROJECT) -> dict[str, dict[str, Any]]:
    """The state.json entries of ``project``'s functions ({} when no service runs)."""
    state = read_state(home) or {}
    return state.get("projects", {}).get(project, {}).get("functions", {})


def wait_for(what: str, probe: Callable[[], Any], timeout_s: float = 30.0) -> Any:
    """Poll ``probe`` until it returns something truthy; ``AssertionError`` naming ``what`` after the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s:g}s")
        time.sleep(0.1)


def running_pids(home: Path, names: list[str], project: str = PROJECT) -> dict[str, int] | None:
    """Each function's pid once every one of ``names`` is running (and nothing else is), else ``None``."""
    state = functions(home, project)
    if sorted(state) != sorted(names) or any(state[n]["state"] != "running" for n in names):
        return None
    return {n: state[n]["pid"] for n in names}


def home_processes(home: Path) -> list[tuple[int, str]]:
    """(pid, command line) of every process but this one whose command line or environment names ``home``."""
    needle = str(Path(home).resolve()).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
            zombie = (entry / "stat").read_text().rpartition(")")[2].split()[0] == "Z"
        except OSError:
            continue
        if not zombie and (needle in cmdline or needle in environ):
            found.append((int(entry.name), cmdline.replace(b"\0", b" ").decode(errors="replace").strip()))
    return found
