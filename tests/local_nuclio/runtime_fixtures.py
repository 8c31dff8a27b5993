"""Shared pieces of the runtime tests: where the test bundles are, and polling for a condition."""

from __future__ import annotations

import time
from pathlib import Path

#: Small bundles (function.yaml + handler modules) the runtime tests run.
BUNDLES = Path(__file__).parent / "bundles"


def wait_for(predicate, timeout: float = 20.0, what: str = "condition") -> None:
    """Poll ``predicate`` until it is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout}s")
        time.sleep(0.02)
