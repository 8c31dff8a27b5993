"""``GET /api/apps``: the project object of ``modelmon status --json``, with each failure's traceback.

The status half comes from :func:`modelmon.service.status.home_status` (functions from the service's state
file, apps' progress from what the controller and writer stored); the tracebacks, which the status
command leaves out, from :func:`modelmon.queries.app_failures`, matched by endpoint, app and window start.
"""

from __future__ import annotations

from typing import Any

from modelmon.core.timeutil import iso, to_ms
from modelmon.queries import app_failures
from modelmon.service.state import read_state
from modelmon.service.status import home_status
from modelmon.ui.context import UIContext


def apps_status(context: UIContext) -> dict[str, Any]:
    """``{"project", "time", "time_ms", "service", "functions", "apps", "warnings"}`` (see docs/ui.md)."""
    now = context.now_ms()
    state = read_state(context.settings.home)
    status = home_status(context.backend, context.settings, [context.project], state, now).to_json()
    project = status["projects"][context.project]
    failures = app_failures(context.backend, context.project)
    details = {(r["endpoint_id"], r["app_name"], int(r["start_ms"])): r
               for r in failures.to_dict("records") if r["start_ms"] == r["start_ms"]}
    for app in project["apps"]:
        for failure in app["failures_24h"]:
            window = failure.get("window") or {}
            start_ms = to_ms(window["start"]) if window.get("start") else None
            end_ms = to_ms(window["end"]) if window.get("end") else None
            row = details.get((failure["endpoint_id"], app["name"], start_ms)) if start_ms is not None else None
            failure.update(start_ms=start_ms, end_ms=end_ms, traceback=(row or {}).get("traceback") or None)
    return {"project": context.project, "time": iso(now), "time_ms": now, "service": status["service"], **project}
