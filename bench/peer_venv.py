"""Running a peer that cannot share modelmon's venv (MLRun, NannyML) in its own, on the same data, same run."""

from __future__ import annotations

import json
import pathlib
import subprocess
import tempfile
from collections.abc import Callable
from typing import Any


def run_peer(name: str, python: str, script: pathlib.Path, write_inputs: Callable[[str], None],
             args: list[str]) -> dict[str, Any] | None:
    """``python script DIR *args`` after ``write_inputs(DIR)``: the figures the script prints as JSON on its last
    line, or None (the reason printed) when the run fails."""
    with tempfile.TemporaryDirectory() as directory:
        write_inputs(directory)
        done = subprocess.run([python, str(script), directory, *args],
                              capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0:
        print(f"  {name} failed: {done.stderr.strip().splitlines()[-1:]}")
        return None
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures
