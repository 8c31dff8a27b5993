"""What the alerts page and the endpoint page show: alert activations with their history and the delivery of
their notifications, and the writer's detected results. See docs/ui.md (``GET /api/alerts``) for every field.

* **Activations** are the alert evaluator's (:mod:`modelmon.alerts.evaluator`): one per alert config,
  endpoint, app and result that matched, ``active`` or ``resolved``, with the transitions that led there.
* **Deliveries** are the outbox's (:mod:`modelmon.alerts.delivery`): one item per notification and channel,
  found again from a transition by its notification key.
* **Detections** are the writer's alerts table: one item per ``detected`` result and window, whether or not
  an alert config watches it, so a project without configs still sees what its apps detected.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from modelmon.alerts.activations import read_activations
from modelmon.alerts.configs import AlertConfig, AlertConfigStore
from modelmon.alerts.delivery import STATES as DELIVERY_STATES
from modelmon.alerts.delivery import Deliveries
from modelmon.alerts.notification import ACTIVE, RESOLVED, notification_key
from modelmon.backends.base import Cond, Item, scan_all
from modelmon.core.results import ResultStatusApp
from modelmon.core.timeutil import iso
from modelmon.endpoints.store import EndpointStore
from modelmon.queries import kind_name
from modelmon.ui import data
from modelmon.ui.context import UIContext

#: The most transitions ``history`` lists (the newest); ``history_total`` says how many there are.
HISTORY_ROWS = 200
_SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}
#: What a transition is called on the pages: the activation fired, resolved by a later window, or reset by hand.
FIRED, RESOLVED_BY_WINDOW, RESET = "fired", "resolved", "reset"


def alerts_page(context: UIContext, *, state: str | None = None, endpoint_id: str | None = None,
                since_ms: int | None = None) -> dict[str, Any]:
    """The object of ``GET /api/alerts`` (docs/ui.md)."""
    kv, paths = context.backend.kv, context.paths
    deliveries = Deliveries(kv, paths, clock=context.now_ms).list()
    by_key: dict[str, list[dict[str, Any]]] = {}
    for item in deliveries:
        by_key.setdefault(str(item.get("key")), []).append(_delivery(item))
    alerts = activations(context, endpoint_id=endpoint_id, state=state, deliveries=by_key)
    history = [row for alert in alerts for row in _flat_history(alert)
               if since_ms is None or (row["time_ms"] or 0) >= since_ms]
    history.sort(key=lambda r: (-(r["time_ms"] or 0), r["key"]))
    found = detections(context, endpoint_id, since_ms)
    counts = {s: sum(item.get("state") == s for item in deliveries) for s in DELIVERY_STATES}
    return {
        "project": context.project,
        "configs": [_config(c) for c in AlertConfigStore(kv, paths).list()],
        "total": len(alerts), "active": sum(a["state"] == ACTIVE for a in alerts),
        "alerts": alerts,
        "history": history[:HISTORY_ROWS], "history_total": len(history),
        "deliveries": {**counts, "failed_items": _failed(deliveries, alerts)},
        "detections": {"total": len(found), "current": sum(d["current"] for d in found), "items": found},
    }


def activations(context: UIContext, *, endpoint_id: str | None = None, state: str | None = None,
                deliveries: Mapping[str, list[dict[str, Any]]] | None = None) -> list[dict[str, Any]]:
    """The activations (of ``endpoint_id``, in ``state``): active first, then by severity, most recently
    changed first. ``deliveries`` (notification key -> its channels' delivery states) fills each
    transition's ``deliveries``; without it they are read from the outbox."""
    if deliveries is None:
        deliveries = {}
        for item in Deliveries(context.backend.kv, context.paths, clock=context.now_ms).list():
            deliveries.setdefault(str(item.get("key")), []).append(_delivery(item))
    out = [_activation(key, item, deliveries)
           for key, item in read_activations(context.backend.kv, context.paths, endpoint_id=endpoint_id, state=state)]
    out.sort(key=lambda a: (a["state"] != ACTIVE, _SEVERITY_ORDER.get(str(a["severity"]), 3),
                            -(a["changed_ms"] or 0), a["key"]))
    return out


def _activation(key: str, item: Item, deliveries: Mapping[str, list[dict[str, Any]]]) -> dict[str, Any]:
    config, endpoint_id = str(item.get("config") or ""), str(item.get("endpoint_id") or "")
    app, result = str(item.get("app") or ""), str(item.get("result") or "")
    history = []
    for entry in _decoded_list(item.get("history")):
        transition = RESET if entry.get("reset") == "manual" else FIRED if entry.get("state") == ACTIVE \
            else RESOLVED_BY_WINDOW
        end = _ms(entry.get("window_end_ms"))
        notified = deliveries.get(notification_key(config, endpoint_id, app, result, end, str(entry.get("state")))) \
            if end is not None else None
        history.append({"transition": transition, "state": entry.get("state"), **_time("time", entry.get("time_ms")),
                        **_time("window_end", end), "value": entry.get("value"), "status": entry.get("status"),
                        "deliveries": notified or []})
    return {
        "key": key, "config": config, "endpoint_id": endpoint_id, "endpoint_name": item.get("endpoint_name") or "",
        "app": app, "result": result, "state": item.get("state") or RESOLVED, "severity": item.get("severity"),
        "summary": item.get("summary") or "", "value": item.get("value"), "status": item.get("status"),
        **_time("window_start", item.get("window_start_ms")), **_time("window_end", item.get("window_end_ms")),
        **_time("changed", item.get("changed_ms")), "activations": int(item.get("activations") or 0),
        "history": history,
    }


def _flat_history(alert: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    """The activation's transitions, each with what it is about."""
    about = {k: alert[k] for k in ("key", "config", "endpoint_id", "endpoint_name", "app", "result", "severity")}
    for entry in alert["history"]:
        yield {**about, **entry}


def _failed(deliveries: Iterable[Mapping[str, Any]], alerts: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The failed outbox items, each with the transition it notified (``alert``: ``null`` when that activation
    is not listed)."""
    about: dict[str, dict[str, Any]] = {}
    for alert in alerts:
        for row in alert["history"]:
            for delivery in row["deliveries"]:
                about[str(delivery["key"])] = {
                    **{k: alert[k] for k in ("key", "config", "endpoint_id", "endpoint_name", "app", "result")},
                    "transition": row["transition"], "window_end_ms": row["window_end_ms"]}
    return [{**_delivery(item), "alert": about.get(str(item.get("key")))}
            for item in deliveries if item.get("state") == "failed"]


def _delivery(item: Mapping[str, Any]) -> dict[str, Any]:
    """One outbox item as the API shows it: never its channel spec (which names secrets' variables)."""
    done = _ms(item.get("delivered_ms") or item.get("failed_ms"))
    return {"key": item.get("key"), "channel": item.get("kind"), "state": item.get("state"),
            "attempts": int(item.get("attempts") or 0), "error": item.get("last_error"), **_time("done", done)}


def _config(config: AlertConfig) -> dict[str, Any]:
    return {"name": config.name, "severity": config.severity, "events": list(config.events),
            "reset_policy": config.reset_policy, "description": config.description,
            "notifications": [str(n.get("kind")) for n in config.notifications]}


def _time(name: str, ms: Any) -> dict[str, Any]:
    """``{name}_ms`` and ``{name}`` (ISO text), both ``None`` when unknown."""
    value = _ms(ms)
    return {f"{name}_ms": value, name: None if value is None else iso(value)}


def _ms(value: Any) -> int | None:
    return None if value is None or isinstance(value, bool) else int(value)


def _decoded_list(text: Any) -> list[dict[str, Any]]:
    try:
        value = json.loads(text) if isinstance(text, str) and text else []
    except ValueError:
        return []
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


# ------------------------------------------------------------------------------------------ detections
def detections(context: UIContext, endpoint_id: str | None, since_ms: int | None = None,
               until_ms: int | None = None) -> list[dict[str, Any]]:
    """Detected results (KV ``alerts_table``, written by the writer: one per detected result and window) of one
    endpoint or all, newest first.

    ``current``: the detection's window is still the latest one its app analysed for that endpoint and result
    (the latest-results table's), and that result is still ``detected``. One of an earlier window, or of a
    result whose latest window is no longer detected, is past."""
    condition = [] if endpoint_id is None else [Cond.eq("endpoint_id", endpoint_id)]
    out: list[dict[str, Any]] = []
    for key, item in scan_all(context.backend.kv, context.paths.alerts_table, condition):
        end = item.get("end_ms")
        if not isinstance(end, int) or (since_ms is not None and end < since_ms) \
                or (until_ms is not None and end >= until_ms):
            continue
        start = item.get("start_ms")
        out.append({
            "key": key, "endpoint_id": item.get("endpoint_id"), "app": item.get("app_name"),
            "result": item.get("result_name"), "value": item.get("value"), "kind": item.get("kind"),
            "kind_name": kind_name(item.get("kind")), "start_ms": start, "end_ms": end,
            "start": iso(start) if isinstance(start, int) else None, "end": iso(end),
            "current": False, "extra_data": data.decoded(item.get("extra_data")),
        })
    _mark_current(context, out)
    _name_endpoints(context, out)
    out.sort(key=lambda a: (-int(a["end_ms"]), str(a["key"])))
    return out


def _mark_current(context: UIContext, found: list[dict[str, Any]]) -> None:
    """Set ``current`` from the latest result of each endpoint, app and result (one read of the latest-results
    table per app and result: key lookups locally, a filtered scan elsewhere)."""
    endpoints: dict[tuple[str, str], set[str]] = {}
    for d in found:
        endpoints.setdefault((str(d["app"]), str(d["result"])), set()).add(str(d["endpoint_id"]))
    latest = {(app, result): data.latest_items(context.backend, context.project, app, result, sorted(ids))
              for (app, result), ids in endpoints.items()}
    for d in found:
        item = latest[(str(d["app"]), str(d["result"]))].get(str(d["endpoint_id"]))
        d["current"] = item is not None and item.get("end_ms") == d["end_ms"] \
            and item.get("status") == int(ResultStatusApp.detected)


def _name_endpoints(context: UIContext, found: list[dict[str, Any]]) -> None:
    store = EndpointStore(context.backend.kv, context.project)
    names: dict[str, str] = {}
    for endpoint_id in {str(d["endpoint_id"]) for d in found}:
        record = store.get(endpoint_id)
        names[endpoint_id] = record.name if record is not None else ""
    for d in found:
        d["endpoint_name"] = names.get(str(d["endpoint_id"]), "")
