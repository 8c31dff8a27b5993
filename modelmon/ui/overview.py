"""``GET /api/overview``: every endpoint of the project in one sortable, filterable, paginated table.

What each column costs decides where it comes from (docs/ui.md, "Overview"):

- name, model, version, drift status: the endpoint records (one scan of the endpoints table);
- ``requests_per_min`` and ``error_rate``: the predictions and errors TSDB over the :data:`TRAFFIC_MINUTES`
  minutes before now (a current rate; an hour of 10,000 endpoints' per-minute rows takes a second to read);
- ``latency_p99_us``: the latest ``latency_p99_us`` result of the system-performance app (KV);
- ``last_window`` and the sparkline: the result history of the page's rows only.

The last three are read for the page's rows only, unless the table is sorted by one of them; then they
are read for every endpoint that passed the filter, and kept for :data:`SORT_CACHE_MS` so that turning
pages of a sorted table does not read them again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from modelmon.core.results import ResultKindApp, ResultStatusApp
from modelmon.core.timeutil import iso
from modelmon.endpoints.record import ModelEndpoint
from modelmon.endpoints.store import DRIFT_STATUS_END, EndpointStore
from modelmon.queries import status_name
from modelmon.ui import data
from modelmon.ui.context import UIContext

TRAFFIC_MINUTES = 15
TRAFFIC_MS = TRAFFIC_MINUTES * 60_000
SPARKLINE_POINTS = 24
SORT_CACHE_MS = 30_000
#: Columns the table sorts by; the last three are read per endpoint (see the module docstring).
RECORD_COLUMNS = ("name", "endpoint_id", "model", "model_version", "drift_status")
READ_COLUMNS = ("requests_per_min", "error_rate", "latency_p99_us")
SORTABLE = (*RECORD_COLUMNS, *READ_COLUMNS)
MAX_PER_PAGE = 500
LATENCY_RESULT = "latency_p99_us"
MAIN_RESULT = "general_drift"


@dataclasses.dataclass(frozen=True)
class OverviewQuery:
    """The parsed parameters (``modelmon.ui.api`` checks them)."""

    q: str = ""
    statuses: tuple[int, ...] = ()
    sort: str = "drift_status"
    descending: bool = True
    page: int = 1
    per_page: int = 50


def overview(context: UIContext, query: OverviewQuery) -> dict[str, Any]:
    """The overview object (see docs/ui.md)."""
    now = context.now_ms()
    records = list(EndpointStore(context.backend.kv, context.project).scan(brief=True))
    counts: dict[str, int] = {s.name: 0 for s in sorted(ResultStatusApp, reverse=True)}
    for record in records:
        counts[status_name(record.drift_status)] = counts.get(status_name(record.drift_status), 0) + 1
    needle = query.q.strip().lower()
    rows = [r for r in records
            if (not needle or needle in r.name.lower() or needle in r.model.lower() or needle in r.endpoint_id)
            and (not query.statuses or int(r.drift_status) in query.statuses)]
    columns: dict[str, dict[str, float | None]] = {}
    if query.sort in READ_COLUMNS:
        columns = _read_columns(context, [r.endpoint_id for r in rows], now, cached=True)
    rows = _sorted(rows, query, columns)
    first = (query.page - 1) * query.per_page
    page = rows[first:first + query.per_page]
    ids = [r.endpoint_id for r in page]
    if query.sort not in READ_COLUMNS:
        columns = _read_columns(context, ids, now, cached=False)
    lines = _sparklines(context, page)
    return {
        "project": context.project, "total": len(rows), "page": query.page, "per_page": query.per_page,
        "sort": query.sort, "order": "desc" if query.descending else "asc", "time": iso(now), "time_ms": now,
        "endpoints": [_row(r, columns.get(r.endpoint_id, {}), lines.get(r.endpoint_id)) for r in page],
        "statuses": counts, "endpoint_count": len(records),
    }


def _sorted(rows: list[ModelEndpoint], query: OverviewQuery,
            columns: dict[str, dict[str, float | None]]) -> list[ModelEndpoint]:
    """Sorted by the chosen column (missing values last either way), ties by name and id."""
    rows = sorted(rows, key=lambda r: (r.name, r.endpoint_id))
    if query.sort in ("name", "endpoint_id") and not query.descending:
        return rows if query.sort == "name" else sorted(rows, key=lambda r: r.endpoint_id)

    def key(r: ModelEndpoint) -> Any:
        if query.sort in READ_COLUMNS:
            return columns.get(r.endpoint_id, {}).get(query.sort)
        return int(r.drift_status) if query.sort == "drift_status" else getattr(r, query.sort)

    present = [r for r in rows if key(r) is not None]
    missing = [r for r in rows if key(r) is None]
    return sorted(present, key=key, reverse=query.descending) + missing


def _read_columns(context: UIContext, ids: Sequence[str], now: int, *,
                  cached: bool) -> dict[str, dict[str, float | None]]:
    """``requests_per_min``, ``error_rate`` and ``latency_p99_us`` of ``ids`` (see the module docstring)."""
    if cached:
        key = ("overview-columns", now // SORT_CACHE_MS, tuple(ids))
        return context.cached(key, lambda: _read_columns(context, ids, now, cached=False))
    backend, project = context.backend, context.project
    every = len(ids) > MAX_PER_PAGE  # one read of all rows is cheaper than a list of thousands of ids
    traffic = data.traffic_totals(backend, project, now - TRAFFIC_MS, now, None if every else ids)
    latency: dict[str, dict[str, Any] | None] = {}
    for app in context.apps_of_class(context.PERFORMANCE_CLASS):
        for endpoint_id, item in data.latest_items(backend, project, app, LATENCY_RESULT, ids).items():
            latency.setdefault(endpoint_id, item)
    out: dict[str, dict[str, float | None]] = {}
    for endpoint_id in ids:
        requests, errors = traffic.get(endpoint_id, (0, 0))
        stored = latency.get(endpoint_id)
        value = stored.get("value") if stored is not None and int(stored.get("status", -1)) != -1 else None
        out[endpoint_id] = {
            "requests_per_min": round(requests / TRAFFIC_MINUTES, 3),
            "error_rate": round(errors / (requests + errors), 6) if requests + errors else None,
            "latency_p99_us": float(value) if isinstance(value, int | float) else None,
        }
    return out


def _sparklines(context: UIContext, page: Sequence[ModelEndpoint]) -> dict[str, dict[str, Any]]:
    """Per row: its last window and the last :data:`SPARKLINE_POINTS` windows of its main drift result
    (the histogram app's ``general_drift``, else its first ``data_drift`` result by app and name)."""
    store = EndpointStore(context.backend.kv, context.project)
    ends: dict[int, list[str]] = {}
    for record in page:
        item = store.item(record.endpoint_id) or {}
        end = item.get(DRIFT_STATUS_END)
        if isinstance(end, int) and not isinstance(end, bool):
            ends.setdefault(end, []).append(record.endpoint_id)
    lookback = (SPARKLINE_POINTS + 1) * context.longest_period_ms()
    drift_apps = set(context.apps_of_class(context.DRIFT_CLASS))
    out: dict[str, dict[str, Any]] = {}
    for end, ids in ends.items():
        rows = data.history(context.backend, context.paths.app_results_tsdb, "result_name", endpoint_ids=ids,
                            since_ms=end - lookback, until_ms=end + 1)
        if rows.empty:
            continue
        for endpoint_id, mine in rows.groupby("endpoint_id", sort=False):
            last = mine[mine["time"] == mine["time"].max()]
            window = {"start_ms": int(last["start_ms"].min()), "end_ms": int(last["time"].max())}
            main = mine[(mine["app_name"].isin(drift_apps)) & (mine["result_name"] == MAIN_RESULT)]
            if main.empty:
                drift = mine[mine["kind"] == int(ResultKindApp.data_drift)]
                if not drift.empty:
                    first = drift.sort_values(["app_name", "result_name"]).iloc[0]
                    main = drift[(drift["app_name"] == first["app_name"])
                                 & (drift["result_name"] == first["result_name"])]
            main = main.sort_values(["time", "app_name"]).drop_duplicates("time", keep="first")
            main = main.tail(SPARKLINE_POINTS)
            out[str(endpoint_id)] = {
                "last_window": window,
                "main": None if main.empty else {"app": str(main["app_name"].iloc[0]),
                                                 "result": str(main["result_name"].iloc[0])},
                "sparkline": [{"end_ms": int(t), "value": float(v), "status": int(s)}
                              for t, v, s in zip(main["time"], main["value"], main["status"], strict=True)],
            }
    return out


def _row(record: ModelEndpoint, columns: dict[str, float | None], line: dict[str, Any] | None) -> dict[str, Any]:
    window = None if line is None else line["last_window"]
    return {
        "endpoint_id": record.endpoint_id, "name": record.name, "model": record.model,
        "model_version": record.model_version, "drift_status": int(record.drift_status),
        "drift_status_name": status_name(record.drift_status),
        "last_window": None if window is None else {"start": iso(window["start_ms"]), "end": iso(window["end_ms"]),
                                                     **window},
        "requests_per_min": columns.get("requests_per_min"), "error_rate": columns.get("error_rate"),
        "latency_p99_us": columns.get("latency_p99_us"),
        "last_request_ms": record.last_request_ms,
        "last_request": None if record.last_request_ms is None else iso(record.last_request_ms),
        "sparkline_result": None if line is None else line["main"],
        "sparkline": [] if line is None else line["sparkline"],
    }
