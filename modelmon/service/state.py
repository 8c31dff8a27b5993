"""``<home>/service/state.json``: what the service runs, for ``modelmon status`` and the SDK.

Rewritten atomically (temp file + rename) about every second and removed on a clean exit::

    {"pid": 4242, "home": "/abs/home", "started_ms": ..., "updated_ms": ..., "log": ".../logs/service.log",
     "projects": {"fraud": {"functions": {"model-monitoring-writer": {
         "role": "writer", "pid": 4250, "state": "running", "started_ms": ..., "restarts": 0,
         "last_error": null, "streams": [{"path": "projects/fraud/model-endpoints/stream-...", "group": "..."}],
         "version": "3f0c...", "log": ".../logs/fraud/model-monitoring-writer.log", "triggers": [...]}}}}}

``state`` is one of :data:`STATES`. ``version`` is the content hash of the function's directory
(:func:`modelmon.service.desired.content_hash`): the SDK waits for the version it wrote.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from modelmon.local_nuclio.run_files import process_alive
from modelmon.service.layout import HomeLayout
from modelmon.service.lock import lock_held

STATES = ("running", "starting", "restarting", "failed", "stopped")


def write_state(home: str | os.PathLike[str], state: Mapping[str, Any]) -> None:
    """Replace the state file in one rename: a reader never sees half of it."""
    path = HomeLayout(home).state
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(path)


def read_state(home: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The running service's state, or ``None`` when no live service holds the home's lock."""
    layout = HomeLayout(home)
    if not lock_held(layout.lock):
        return None
    try:
        state = json.loads(layout.state.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # the service is starting and has not written it yet
        return None
    if not isinstance(state, dict) or not isinstance(state.get("pid"), int) or not process_alive(state["pid"]):
        return None  # left by a service killed before the one now holding the lock wrote its own
    return state
