"""Readers the UI needs faster than the SDK's (:mod:`modelmon.queries`) give them, on the same stored layouts.

``queries.result_history`` builds one dict per row and sorts twice: 0.43 s for 30 days x 12 results of one
endpoint, most of the endpoint API's 500 ms budget. :func:`history` reads the same TSDB rows and keeps the
same newest write per window (``modelmon.writer.history.newest_per_window``), but hands back columns.

The per-window ``extra_data`` of one result is read by key on the local backend (one indexed SQLite lookup
each; a scan there decodes every item of the table) and with a server-side filter elsewhere (V3IO
evaluates scan conditions, while a key lookup is one HTTP request). The same choice serves the latest
value of one result for many endpoints (:func:`latest_items`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pandas as pd

from modelmon.backends.base import Backend, Cond, Op, scan_all
from modelmon.core.errors import NotFound
from modelmon.core.paths import ProjectPaths
from modelmon.writer.history import extra_data_key, newest_per_window
from modelmon.writer.latest import result_key

FOREVER_MS = 1 << 62
MINUTE_MS = 60_000
#: The most points a traffic chart has: longer spans of traffic are summed into longer steps.
MAX_TRAFFIC_POINTS = 300
_PAGE = 1_000
TRAFFIC_STEPS_MINUTES = (1, 2, 5, 10, 15, 30, 60, 120, 360, 720, 1440)


def history(backend: Backend, table: str, name: str, *, endpoint_ids: str | Sequence[str] | None = None,
            since_ms: int | None = None, until_ms: int | None = None,
            filters: Mapping[str, str | Sequence[str]] | None = None) -> pd.DataFrame:
    """Rows of a result or metric history table (``name``: ``"result_name"``/``"metric_name"``) ending in
    ``[since_ms, until_ms)``, the newest write per endpoint, app, name and window, sorted by those keys;
    column ``time`` is the window's end. Empty (no columns guaranteed) when the table was never written.

    A window is usually written once: then no write needs dropping and one integer sort replaces
    ``newest_per_window``'s sort over four columns (a quarter of the endpoint API's time for 30 days)."""
    wanted = dict(filters or {})
    if endpoint_ids is not None:
        wanted["endpoint_id"] = endpoint_ids
    try:
        rows = backend.tsdb.read(table, since_ms or 0, until_ms or FOREVER_MS, filters=wanted or None)
    except NotFound:
        return pd.DataFrame()
    if rows.empty:
        return rows
    series = _series_codes(rows, name)
    times = rows["time"].to_numpy(dtype=np.int64)
    order = np.lexsort((times, series))
    key_series, key_times = series[order], times[order]
    repeated = (key_series[1:] == key_series[:-1]) & (key_times[1:] == key_times[:-1])
    if repeated.any():
        return newest_per_window(rows, name)
    newest: pd.DataFrame = rows.iloc[order].reset_index(drop=True)
    return newest


def _series_codes(rows: pd.DataFrame, name: str) -> npt.NDArray[np.int64]:
    """One integer per (endpoint, app, name), ordered as the names sort."""
    codes = np.zeros(len(rows), dtype=np.int64)
    for column in ("endpoint_id", "app_name", name):
        values, uniques = pd.factorize(rows[column], sort=True)
        codes = codes * (len(uniques) + 1) + values
    return codes


def decoded(text: Any) -> dict[str, Any]:
    """Stored JSON text (``extra_data``, ``metrics``) as a dict; ``{}`` when absent or unreadable."""
    if not isinstance(text, str) or not text:
        return {}
    try:
        value = orjson.loads(text)  # a third of the json module's time on the heatmap's thousands of windows
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def latest_items(backend: Backend, project: str, app_name: str, result_name: str,
                 endpoint_ids: Iterable[str] | None) -> dict[str, dict[str, Any]]:
    """The latest-results item of ``app_name``/``result_name`` per endpoint (of ``endpoint_ids``; ``None``: all).

    Local: one key lookup per endpoint (10,000 take 0.15 s; a scan decodes every endpoint's every result).
    Elsewhere: one scan filtered by the server."""
    table = ProjectPaths(project).app_results_table
    if endpoint_ids is not None and backend.name == "local":
        items = ((e, backend.kv.get(table, result_key(e, app_name, result_name))) for e in endpoint_ids)
        return {e: item for e, item in items if item is not None}
    wanted = None if endpoint_ids is None else set(endpoint_ids)
    condition = [Cond.eq("app_name", app_name), Cond.eq("result_name", result_name)]
    return {str(item["endpoint_id"]): item for _, item in scan_all(backend.kv, table, condition)
            if wanted is None or item.get("endpoint_id") in wanted}


def window_extras(backend: Backend, project: str, endpoint_id: str, app_name: str, result_name: str,
                  ends: Sequence[int]) -> dict[int, dict[str, Any]]:
    """``extra_data`` of one result per window end (of ``ends``), from KV ``app_results_extra_table``.

    Local: the keys ``{endpoint}.{app}.{result}.{end_ms}`` of one result are adjacent and in time order (13
    digit times), and the local KV pages in key order resuming after the marker key, so the range is read
    in a few pages starting after the key just before the first window. Elsewhere: a filtered scan."""
    table = ProjectPaths(project).app_results_extra_table
    if not ends:
        return {}
    wanted = {int(e) for e in ends}
    first, last = min(wanted), max(wanted)
    if backend.name == "local":
        prefix = extra_data_key(endpoint_id, app_name, result_name, 0)[:-1]
        out: dict[int, dict[str, Any]] = {}
        marker: str | None = extra_data_key(endpoint_id, app_name, result_name, first - 1)
        while marker is not None:
            page, marker = backend.kv.scan(table, limit=_PAGE, marker=marker)
            for key, item in page:
                if not key.startswith(prefix) or not key[len(prefix):].isdigit() or int(key[len(prefix):]) > last:
                    return out
                if int(key[len(prefix):]) in wanted:
                    out[int(key[len(prefix):])] = decoded(item.get("extra_data"))
        return out
    condition = [Cond.eq("endpoint_id", endpoint_id), Cond.eq("app_name", app_name),
                 Cond.eq("result_name", result_name), Cond("end_ms", Op.GE, first), Cond("end_ms", Op.LE, last)]
    return {int(item["end_ms"]): decoded(item.get("extra_data"))
            for _, item in scan_all(backend.kv, table, condition) if int(item["end_ms"]) in wanted}


def traffic_totals(backend: Backend, project: str, since_ms: int, until_ms: int,
                   endpoint_ids: Sequence[str] | None) -> dict[str, tuple[int, int]]:
    """``(requests, errors)`` per endpoint in ``[since_ms, until_ms)`` from the predictions and errors TSDB
    (rows summed over the records that wrote them, as ``modelmon.stream.read_predictions`` does)."""
    paths = ProjectPaths(project)
    filters = None if endpoint_ids is None else {"endpoint_id": list(endpoint_ids)}
    totals: dict[str, list[int]] = {}
    for index, table in enumerate((paths.predictions_tsdb, paths.errors_tsdb)):
        try:
            rows = backend.tsdb.read(table, since_ms, until_ms, filters=filters, columns=["count"])
        except NotFound:
            continue
        if rows.empty:
            continue
        for endpoint_id, count in rows.groupby("endpoint_id", sort=False)["count"].sum().items():
            totals.setdefault(str(endpoint_id), [0, 0])[index] = int(count)
    return {e: (v[0], v[1]) for e, v in totals.items()}


def traffic_series(backend: Backend, project: str, endpoint_id: str, since_ms: int, until_ms: int) -> dict[str, Any]:
    """One endpoint's traffic in ``[since_ms, until_ms)``: ``{step_ms, covered, points}``.

    ``points`` are ``{time_ms, requests, errors, latency_avg_us, latency_max_us}`` summed per step (steps
    without traffic left out). The step is chosen over the minutes the traffic ``covered``
    (``{start_ms, end_ms}``: the first minute with a request or error to the end of the last one; ``None``
    without traffic), not over the asked range: 8 minutes of traffic in a 7-day range are 8 one-minute
    points, not one 10-minute point. It is a minute, or the shortest of :data:`TRAFFIC_STEPS_MINUTES` that
    gives at most :data:`MAX_TRAFFIC_POINTS`; steps start at whole multiples of it (round UTC times)."""
    paths = ProjectPaths(project)
    read = {}
    for table, columns in ((paths.predictions_tsdb, ["count", "latency_sum_us", "latency_max_us"]),
                           (paths.errors_tsdb, ["count"])):
        try:
            rows = backend.tsdb.read(table, since_ms, until_ms, filters={"endpoint_id": endpoint_id},
                                     columns=columns)
        except NotFound:
            rows = pd.DataFrame()
        if rows.empty:  # the v3io backend's empty read has a time column only
            rows = pd.DataFrame({name: pd.Series(dtype="float64") for name in columns}
                                | {"time": pd.Series(dtype="int64")})
        read[table] = rows
    times = np.concatenate([rows["time"].to_numpy(dtype=np.int64) for rows in read.values()])
    if not len(times):
        return {"step_ms": MINUTE_MS, "covered": None, "points": []}
    first, last = int(times.min()) // MINUTE_MS * MINUTE_MS, (int(times.max()) // MINUTE_MS + 1) * MINUTE_MS
    step = traffic_step(last - first)
    frames = []
    for table, rows in read.items():
        grouped = rows.assign(time=rows["time"].to_numpy(dtype=np.int64) // step * step).groupby("time")
        if table == paths.errors_tsdb:
            frames.append(grouped.agg(errors=("count", "sum")))
        else:
            frames.append(grouped.agg(requests=("count", "sum"), latency_sum_us=("latency_sum_us", "sum"),
                                      latency_max_us=("latency_max_us", "max")))
    joined = pd.concat(frames, axis=1).sort_index()
    points = []
    for time_ms, requests, latency_sum, latency_max, errors in zip(
            joined.index.tolist(), joined["requests"].tolist(), joined["latency_sum_us"].tolist(),
            joined["latency_max_us"].tolist(), joined["errors"].tolist(), strict=True):
        requests = 0 if requests != requests else int(requests)  # NaN: a step with errors only
        points.append({"time_ms": int(time_ms), "requests": requests,
                       "errors": 0 if errors != errors else int(errors),
                       "latency_avg_us": round(latency_sum / requests, 1) if requests else None,
                       "latency_max_us": None if latency_max != latency_max else float(latency_max)})
    return {"step_ms": step, "covered": {"start_ms": first, "end_ms": last}, "points": points}


def traffic_step(span_ms: int) -> int:
    """The traffic step (ms) for ``span_ms`` of traffic: at most :data:`MAX_TRAFFIC_POINTS` steps.

    >>> [traffic_step(m * MINUTE_MS) // MINUTE_MS for m in (8, 300, 301, 7 * 1440, 30 * 1440, 200 * 1440)]
    [1, 1, 2, 60, 360, 1440]
    """
    minutes = max(1, -(-span_ms // MINUTE_MS))
    return MINUTE_MS * next((s for s in TRAFFIC_STEPS_MINUTES if minutes <= s * MAX_TRAFFIC_POINTS),
                            -(-minutes // MAX_TRAFFIC_POINTS))
