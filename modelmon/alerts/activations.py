"""Reading activations: filtered items for the web UI (:func:`read_activations`), and as a table for the SDK's
``get_alert_activations`` and the CLI's ``modelmon alerts activations`` (:func:`activations_frame`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from modelmon.alerts.notification import ACTIVE, RESOLVED
from modelmon.backends.base import KV, Cond, Item, Op, scan_all
from modelmon.core.paths import ProjectPaths

#: The columns of :func:`activations_frame`, in order.
COLUMNS = ("config", "endpoint_id", "endpoint_name", "app", "result", "state", "severity", "status", "value",
           "window_start", "window_end", "changed", "activations", "summary", "history")
_TIMES = {"window_start": "window_start_ms", "window_end": "window_end_ms", "changed": "changed_ms"}
STATES = (ACTIVE, RESOLVED)


def read_activations(kv: KV, paths: ProjectPaths, *, endpoint_id: str | None = None, state: str | None = None,
                     config: str | None = None) -> list[tuple[str, Item]]:
    """``(key, item)`` of the stored activations that fired at least once, by key; only those of
    ``endpoint_id``, in ``state`` (``active`` / ``resolved``) or of ``config`` when given. An item that only
    counts hits towards a config's criteria is no alert yet, so it is left out. The filters are scan
    conditions, so a remote store evaluates them (one endpoint's activations are not the whole table over
    the network)."""
    if state is not None and state not in STATES:
        raise ValueError(f"state must be active or resolved, not {state!r}")
    condition = [Cond.eq(attr, value) for attr, value in (("endpoint_id", endpoint_id), ("state", state),
                                                          ("config", config)) if value is not None]
    return list(scan_all(kv, paths.alert_activations_table, [*condition, Cond("activations", Op.GE, 1)]))


def activations_frame(items: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per activation item; times as UTC timestamps, ``history`` decoded to a list of transitions
    (each with ``time`` and ``window_end`` as UTC timestamps when present)."""
    rows = []
    for item in items:
        row: dict[str, Any] = {c: item.get(c) for c in COLUMNS if c not in _TIMES and c != "history"}
        for column, attr in _TIMES.items():
            row[column] = _utc(item.get(attr))
        row["activations"] = int(item.get("activations") or 0)
        row["history"] = [_transition(h) for h in json.loads(item.get("history") or "[]")]
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    for column in _TIMES:
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame.sort_values(["config", "endpoint_id", "app", "result"], ignore_index=True)


def _utc(ms: Any) -> pd.Timestamp | None:
    return None if ms is None else pd.Timestamp(int(ms), unit="ms", tz="UTC")


def _transition(entry: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in entry.items() if k not in ("time_ms", "window_end_ms")}
    out["time"] = _utc(entry.get("time_ms"))
    if "window_end_ms" in entry:
        out["window_end"] = _utc(entry["window_end_ms"])
    return out
