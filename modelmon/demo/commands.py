"""The commands that read what a demo stored, spelt so that they run as printed from the same directory.

The demo's home is not the default home (``.modelmon``) and its project is not ``default``, so a bare
``modelmon results`` finds nothing: the demo ends by printing these commands with both options, and the
ones that show its data in a browser (``modelmon ui``, ``modelmon report``). The
program is the console script of the running interpreter: ``modelmon`` when that is the one on
``PATH``, else its path (``.venv/bin/modelmon`` after ``make demo`` without an activated venv).
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path


def program(cwd: Path | None = None) -> str:
    """How to call this interpreter's ``modelmon`` from ``cwd`` (default: the current directory)."""
    script = Path(sys.executable).parent / "modelmon"
    if not script.is_file():
        return f"{shlex.quote(sys.executable)} -m modelmon"
    on_path = shutil.which("modelmon")
    if on_path is not None and Path(on_path).resolve() == script.resolve():
        return "modelmon"
    base = (cwd or Path.cwd()).resolve()
    absolute = Path(os.path.abspath(script))  # the venv's own path, not its interpreter's symlink target
    shown = absolute.relative_to(base) if absolute.is_relative_to(base) else absolute
    return shlex.quote(str(shown))


def inspect_commands(home: Path, project: str, endpoint_name: str, cwd: Path | None = None) -> list[str]:
    """``endpoints``, latest ``results`` and one endpoint's ``results --history`` for the demo's home."""
    where = f"--home {shlex.quote(str(home))} --project {shlex.quote(project)}"
    prog = program(cwd)
    return [
        f"{prog} endpoints {where}",
        f"{prog} results {where}",
        f"{prog} results {where} --history --endpoint {shlex.quote(endpoint_name)}",
    ]


def alerts_command(home: Path, project: str, cwd: Path | None = None) -> str:
    """``alerts activations`` (every alert, active or resolved, with its history) for the demo's home."""
    return f"{program(cwd)} alerts activations --home {shlex.quote(str(home))} --project {shlex.quote(project)}"


def browser_commands(home: Path, project: str, endpoint_name: str, cwd: Path | None = None) -> list[str]:
    """``ui`` (serves the pages at :data:`UI_URL`) and a ``report`` of one endpoint, for the demo's home."""
    where = f"--home {shlex.quote(str(home))} --project {shlex.quote(project)}"
    prog = program(cwd)
    return [f"{prog} ui {where}",
            f"{prog} report {where} --endpoint {shlex.quote(endpoint_name)} -o {shlex.quote(endpoint_name)}.html"]


#: Where ``modelmon ui`` serves by default.
UI_URL = "http://127.0.0.1:8600"
