"""Reading what a modelmon home holds: endpoints, latest results, result and metric history, failures,
dead letters.

Each function takes a :class:`~modelmon.backends.Backend` and a project name and returns a DataFrame
with fixed columns (also when empty), so the CLI, the demo and notebooks read the stored records the
same way (the layouts are the contracts of CONTRIBUTING.md). Times are int epoch milliseconds (``*_ms``);
:func:`with_timestamps` adds UTC ``Timestamp`` columns next to them and :func:`with_endpoint_names` the
endpoints' names, as the project SDK returns them. Per-feature values and the wide window x result
frame for notebooks are in :mod:`modelmon.result_frames`.

>>> parse_since("90s", now_ms=100_000), parse_since("1970-01-01T00:00:01Z", now_ms=0), parse_since("5000", now_ms=0)
(10000, 1000, 5000)
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from modelmon.apps.registry import AppRegistry
from modelmon.backends.base import Backend, Cond, Op, SeekTo, scan_all
from modelmon.core.errors import InvalidEvent, NotFound
from modelmon.core.paths import ProjectPaths
from modelmon.core.results import ResultKindApp, ResultStatusApp
from modelmon.core.timeutil import to_ms
from modelmon.endpoints.identity import candidates, same_function
from modelmon.endpoints.store import EndpointStore
from modelmon.events import DeadLetter
from modelmon.writer.history import newest_per_window

ENDPOINT_COLUMNS = [
    "endpoint_id", "name", "model", "model_version", "function_uri", "request_count",
    "estimated_prediction_count", "error_count", "latency_avg_us", "first_request_ms", "last_request_ms",
    "watermark_ms", "drift_status", "drift_status_name",
    "feature_names", "labels", "skipped_from_ms", "skipped_until_ms",
]
RESULT_COLUMNS = [
    "endpoint_id", "app_name", "result_name", "start_ms", "end_ms", "value", "status", "status_name", "kind",
    "kind_name",
]
LATEST_COLUMNS = [*RESULT_COLUMNS, "extra_data", "updated_ms"]
#: ``result_history(extra_data=True)``: each window's ``extra_data`` (``{}`` for windows stored without one).
HISTORY_COLUMNS = [*RESULT_COLUMNS, "extra_data"]
#: ``start_ms`` is null for metrics stored before the history kept it, unless a result of the window gives it.
METRIC_COLUMNS = ["endpoint_id", "app_name", "metric_name", "start_ms", "end_ms", "value"]
#: ``error_type``, ``location`` (``file.py:LINE`` in the app's code) and ``traceback`` are ``""`` for
#: failures stored before the app runner recorded them.
FAILURE_COLUMNS = ["endpoint_id", "app_name", "start_ms", "end_ms", "error", "error_type", "location", "traceback",
                   "time_ms"]
FAILURE_DETAILS = ("error_type", "location", "traceback")
DEAD_LETTER_COLUMNS = ["time_ms", "function", "source", "reason", "shard", "sequence", "attempts", "payload"]
_FOREVER_MS = 1 << 62
_RELATIVE = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d|w)")
_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}


def parse_since(text: str, now_ms: int, what: str = "--since") -> int:
    """A time from ``text``: a duration back from now (``"30m"``, ``"2h"``, ``"1d"``), epoch
    milliseconds, or an ISO-8601 time (UTC unless it has an offset). ``what`` names it in the error."""
    text = text.strip()
    match = _RELATIVE.fullmatch(text)
    if match:
        return now_ms - int(float(match[1]) * _UNIT_MS[match[2]])
    if text.isdigit():
        return int(text)
    try:
        return to_ms(text)
    except ValueError:
        raise ValueError(f"{what} {text!r}: expected a duration such as 30m/2h/1d, epoch ms or an ISO time") from None


def status_name(status: Any) -> str:
    """``"detected"`` for 2, and so on; the number as text when it is not a known status."""
    try:
        return ResultStatusApp(int(status)).name
    except (TypeError, ValueError):
        return str(status)


def kind_name(kind: Any) -> str:
    try:
        return ResultKindApp(int(kind)).name
    except (TypeError, ValueError):
        return str(kind)


def list_endpoints(backend: Backend, project: str) -> pd.DataFrame:
    """One row per model endpoint of ``project``, by name then id."""
    rows = []
    for endpoint in EndpointStore(backend.kv, project).scan():
        rows.append({
            "endpoint_id": endpoint.endpoint_id, "name": endpoint.name, "model": endpoint.model,
            "model_version": endpoint.model_version, "function_uri": endpoint.function_uri,
            "request_count": int(endpoint.request_count or 0),
            "estimated_prediction_count": float(endpoint.estimated_prediction_count or 0.0),
            "error_count": int(endpoint.error_count or 0),
            "latency_avg_us": endpoint.latency_avg_us, "first_request_ms": endpoint.first_request_ms,
            "last_request_ms": endpoint.last_request_ms, "watermark_ms": endpoint.watermark_ms,
            "drift_status": int(endpoint.drift_status), "drift_status_name": status_name(endpoint.drift_status),
            "feature_names": list(endpoint.feature_names), "labels": dict(endpoint.labels),
            "skipped_from_ms": endpoint.skipped_from_ms, "skipped_until_ms": endpoint.skipped_until_ms,
        })
    df = _frame(rows, ENDPOINT_COLUMNS, ["name", "endpoint_id"])
    return df.assign(latency_avg_us=pd.to_numeric(df["latency_avg_us"]))  # NaN, not None, without traffic


def resolve_endpoint(backend: Backend, project: str, ref: str, *, function_name: str | None = None,
                     function_tag: str | None = None) -> str:
    """The endpoint id that ``ref`` names: an id, a unique endpoint name (of function ``function_name``
    with tag ``function_tag``, when given), or a unique id prefix.

    A name or prefix that several endpoints have is a ``ValueError`` listing each one's id and function
    (a name and its function identify an endpoint, :mod:`modelmon.endpoints.identity`); ``NotFound``
    names the project's endpoints when none matches."""
    endpoints = same_function(EndpointStore(backend.kv, project).scan(brief=True), function_name, function_tag)
    if any(e.endpoint_id == ref for e in endpoints):
        return ref
    for what, hits in (("name", [e for e in endpoints if e.name == ref]),
                       ("id prefix", [e for e in endpoints if e.endpoint_id.startswith(ref)])):
        if len(hits) == 1:
            return hits[0].endpoint_id
        if len(hits) > 1:
            raise ValueError(f"endpoint {what} {ref!r} is ambiguous in project {project!r}: {candidates(hits)}; "
                             "give the endpoint id (or a longer prefix)")
    known = ", ".join(f"{e.name} ({short_id(e.endpoint_id)})"
                      for e in sorted(endpoints, key=lambda e: (e.name, e.endpoint_id)))
    served = "" if function_name is None and function_tag is None else (
        f" served by function {function_name or '*'}:{function_tag or '*'}")
    raise NotFound(f"project {project!r} has no endpoint with id or name {ref!r}{served}; "
                   + (f"its endpoints: {known}" if endpoints else "it has no endpoints"))


def endpoint_names(backend: Backend, project: str) -> dict[str, str]:
    """Endpoint id -> name, for every endpoint of ``project``."""
    return {e.endpoint_id: e.name for e in EndpointStore(backend.kv, project).scan(brief=True)}


def short_id(endpoint_id: str) -> str:
    """The first 8 characters of an endpoint id: what tables show (``--endpoint`` takes id prefixes)."""
    return endpoint_id[:8]


def known_apps(backend: Backend, project: str) -> list[str]:
    """The apps ``project`` knows: registered ones, and those that stored results, metrics or failures (an
    app removed from the registry keeps what it stored). Reads every metric: for error messages."""
    paths = ProjectPaths(project)
    names = {app.name for app in AppRegistry(backend.kv, paths).list()}
    for table in (paths.app_results_table, paths.app_failures_table):
        names.update(str(item["app_name"]) for _, item in scan_all(backend.kv, table) if item.get("app_name"))
    names.update(metric_history(backend, project)["app_name"])
    return sorted(names)


def check_app(backend: Backend, project: str, app_name: str) -> None:
    """``NotFound`` naming the known apps unless ``app_name`` is one of them (see :func:`known_apps`)."""
    apps = known_apps(backend, project)
    if app_name not in apps:
        raise NotFound(f"project {project!r} has no application {app_name!r}; "
                       + (f"its applications: {', '.join(apps)}" if apps else "it has no applications"))


def project_exists(backend: Backend, project: str) -> bool:
    """Whether ``project`` left anything in the backend: an endpoint, a registered app or a result."""
    paths = ProjectPaths(project)
    tables = (paths.endpoints_table, paths.apps_table, paths.app_results_table, paths.app_failures_table)
    return any(backend.kv.scan(table, limit=1)[0] for table in tables)


def latest_results(backend: Backend, project: str, *, endpoint_id: str | None = None, app_name: str | None = None,
                   since_ms: int | None = None) -> pd.DataFrame:
    """The latest result per endpoint, app and result name (KV), ``extra_data`` decoded."""
    rows = []
    for _, item in scan_all(backend.kv, ProjectPaths(project).app_results_table):
        if not _selected(item, endpoint_id, app_name, since_ms):
            continue
        rows.append({
            **{k: item.get(k) for k in ("endpoint_id", "app_name", "result_name", "start_ms", "end_ms")},
            "value": _number(item.get("value")),
            **_named(item.get("status"), item.get("kind")),
            "extra_data": _decoded(item.get("extra_data")),
            "updated_ms": item.get("updated_ms"),
        })
    return _frame(rows, LATEST_COLUMNS, ["endpoint_id", "app_name", "result_name"])


def result_history(backend: Backend, project: str, *, endpoint_id: str | None = None, app_name: str | None = None,
                   since_ms: int | None = None, until_ms: int | None = None, extra_data: bool = False) -> pd.DataFrame:
    """Every stored window result (TSDB history) ending in ``[since_ms, until_ms)``, one row per
    endpoint, app, result name and window: its newest computation (``modelmon.writer.history``).

    ``extra_data=True`` adds each window's ``extra_data`` (:data:`HISTORY_COLUMNS`), read from its KV table.
    """
    columns = HISTORY_COLUMNS if extra_data else RESULT_COLUMNS
    df = _history(backend, ProjectPaths(project).app_results_tsdb, "result_name", endpoint_id, app_name, since_ms,
                  until_ms)
    if df is None or df.empty:  # an empty read has none of the columns
        return _frame([], columns, [])
    # column by column, as arrays: a dict per row cost a poller of 12,000 rows most of its time, and lists of
    # Python numbers most of the rest
    status, kind = _int_array(df["status"]), _int_array(df["kind"])
    out: dict[str, Any] = {
        "endpoint_id": df["endpoint_id"].to_numpy(dtype=object), "app_name": df["app_name"].to_numpy(dtype=object),
        "result_name": df["result_name"].to_numpy(dtype=object), "start_ms": _int_array(df["start_ms"]),
        "end_ms": _int_array(df["time"]), "value": pd.to_numeric(df["value"]).to_numpy(dtype=float),
        "status": status, "status_name": _names(status, status_name), "kind": kind,
        "kind_name": _names(kind, kind_name)}
    if extra_data:
        stored = _window_extra_data(backend, project, endpoint_id, app_name, since_ms, until_ms)
        out["extra_data"] = [stored.get(key, {}) for key in zip(
            out["endpoint_id"].tolist(), out["app_name"].tolist(), out["result_name"].tolist(),
            out["end_ms"].tolist(), strict=True)]
    return pd.DataFrame(out, columns=columns).sort_values(
        ["endpoint_id", "app_name", "end_ms", "result_name"], kind="stable").reset_index(drop=True)


def _int_array(column: pd.Series) -> npt.NDArray[np.int64]:
    return pd.to_numeric(column).to_numpy(dtype=np.int64)


def _names(codes: npt.NDArray[np.int64], name: Callable[[Any], str]) -> npt.NDArray[np.object_]:
    """``name`` of each code, looked up once per distinct code."""
    distinct, at = np.unique(codes, return_inverse=True)
    names: npt.NDArray[np.object_] = np.array([name(int(code)) for code in distinct], dtype=object)[at]
    return names


def _window_extra_data(backend: Backend, project: str, endpoint_id: str | None, app_name: str | None,
                       since_ms: int | None, until_ms: int | None) -> dict[tuple[str, str, str, int], dict[str, Any]]:
    """``extra_data`` per endpoint, app, result name and window end, from KV ``app_results_extra_table``."""
    condition = [Cond.eq(k, v) for k, v in (("endpoint_id", endpoint_id), ("app_name", app_name)) if v is not None]
    if since_ms is not None:
        condition.append(Cond("end_ms", Op.GE, since_ms))
    if until_ms is not None:
        condition.append(Cond("end_ms", Op.LT, until_ms))
    return {(item["endpoint_id"], item["app_name"], item["result_name"], int(item["end_ms"])):
            _decoded(item.get("extra_data"))
            for _, item in scan_all(backend.kv, ProjectPaths(project).app_results_extra_table, condition)}


def metric_history(backend: Backend, project: str, *, endpoint_id: str | None = None, app_name: str | None = None,
                   since_ms: int | None = None, until_ms: int | None = None) -> pd.DataFrame:
    """Every stored window metric ending in ``[since_ms, until_ms)``, one row per endpoint, app, metric
    name and window: its newest computation."""
    df = _history(backend, ProjectPaths(project).metrics_tsdb, "metric_name", endpoint_id, app_name, since_ms,
                  until_ms)
    if df is None:
        return _frame([], METRIC_COLUMNS, [])
    if "start_ms" not in df.columns:
        df = df.assign(start_ms=float("nan"))
    rows = [
        {"endpoint_id": r["endpoint_id"], "app_name": r["app_name"], "metric_name": r["metric_name"],
         "start_ms": None if pd.isna(r["start_ms"]) else int(r["start_ms"]), "end_ms": int(r["time"]),
         "value": float(r["value"])}
        for r in df.to_dict("records")
    ]
    if any(r["start_ms"] is None for r in rows):  # written before metrics kept their start: a result's, if any
        starts = result_history(backend, project, endpoint_id=endpoint_id, app_name=app_name, since_ms=since_ms,
                                until_ms=until_ms).groupby(["endpoint_id", "app_name", "end_ms"])["start_ms"].min()
        for r in rows:
            if r["start_ms"] is None and (r["endpoint_id"], r["app_name"], r["end_ms"]) in starts.index:
                r["start_ms"] = int(starts[(r["endpoint_id"], r["app_name"], r["end_ms"])])
    df = _frame(rows, METRIC_COLUMNS, ["endpoint_id", "app_name", "end_ms", "metric_name"])
    return df.assign(start_ms=df["start_ms"].astype("Int64"))


def latest_metrics(backend: Backend, project: str, *, endpoint_id: str | None = None, app_name: str | None = None,
                   since_ms: int | None = None) -> pd.DataFrame:
    """The metrics of each endpoint and app's latest window (:data:`METRIC_COLUMNS`), from KV
    ``app_metrics_table``; from the whole metric history for a home written before that table."""
    table = ProjectPaths(project).app_metrics_table
    if not backend.kv.scan(table, limit=1)[0]:
        history = metric_history(backend, project, endpoint_id=endpoint_id, app_name=app_name, since_ms=since_ms)
        latest = history.groupby(["endpoint_id", "app_name"])["end_ms"].transform("max") if len(history) else None
        return history if latest is None else history[history["end_ms"] == latest].reset_index(drop=True)
    rows = [
        {**{k: item.get(k) for k in ("endpoint_id", "app_name", "start_ms", "end_ms")}, "metric_name": name,
         "value": _number(value)}
        for _, item in scan_all(backend.kv, table) if _selected(item, endpoint_id, app_name, since_ms)
        for name, value in _decoded(item.get("metrics")).items()
    ]
    df = _frame(rows, METRIC_COLUMNS, ["endpoint_id", "app_name", "end_ms", "metric_name"])
    return df.assign(start_ms=df["start_ms"].astype("Int64"))


def _history(backend: Backend, table: str, name: str, endpoint_id: str | None, app_name: str | None,
             since_ms: int | None, until_ms: int | None) -> pd.DataFrame | None:
    """The newest row per window of a history table (in no particular order), or ``None`` when it was never
    written."""
    filters = {k: v for k, v in (("endpoint_id", endpoint_id), ("app_name", app_name)) if v is not None}
    try:
        df = backend.tsdb.read(table, since_ms or 0, until_ms or _FOREVER_MS, filters=filters or None)
    except NotFound:  # nothing was ever written
        return None
    if df.empty or not df.duplicated(["endpoint_id", "app_name", name, "time"]).any():
        return df  # each window written once (the usual case): nothing to drop, and the callers sort
    return newest_per_window(df, name)


def app_failures(backend: Backend, project: str, *, endpoint_id: str | None = None, app_name: str | None = None,
                 since_ms: int | None = None) -> pd.DataFrame:
    """The windows an application failed on, one row per endpoint, app and window: the error, its type,
    where in the app's code it was raised, and the traceback (:data:`FAILURE_COLUMNS`)."""
    rows = [
        {k: item.get(k) or "" if k in FAILURE_DETAILS else item.get(k) for k in FAILURE_COLUMNS}
        for _, item in scan_all(backend.kv, ProjectPaths(project).app_failures_table)
        if _selected(item, endpoint_id, app_name, since_ms)
    ]
    return _frame(rows, FAILURE_COLUMNS, ["endpoint_id", "app_name", "start_ms"])


def dead_letters(backend: Backend, project: str, *, limit: int = 10_000) -> pd.DataFrame:
    """Up to ``limit`` records of the project's dead-letter stream (oldest first), payload as text."""
    path = ProjectPaths(project).dead_letter_stream
    try:
        shards = backend.streams.describe(path).shards
    except NotFound:
        return _frame([], DEAD_LETTER_COLUMNS, [])
    rows: list[dict[str, Any]] = []
    for shard in range(shards):
        rows.extend(_letters(backend, path, shard, limit - len(rows)))
    return _frame(rows, DEAD_LETTER_COLUMNS, ["time_ms", "shard", "sequence"])


def _letters(backend: Backend, path: str, shard: int, limit: int) -> Iterable[dict[str, Any]]:
    sequence = backend.streams.seek(path, shard, SeekTo.EARLIEST)
    while limit > 0:
        records = backend.streams.read(path, shard, sequence, limit=min(limit, 1000))
        if not records:
            return
        for record in records:
            try:
                letter = DeadLetter.from_body(record.data)
            except InvalidEvent:  # not a dead letter: shown as such rather than hidden
                yield {"time_ms": record.arrival_ms, "function": "", "source": path, "shard": shard,
                       "reason": "unreadable dead-letter record", "sequence": record.sequence, "attempts": 0,
                       "payload": record.data.decode("utf-8", "replace")}
                continue
            yield {"time_ms": letter.time_ms, "function": letter.function, "source": letter.source,
                   "reason": letter.reason, "shard": letter.shard, "sequence": letter.sequence,
                   "attempts": letter.attempts, "payload": letter.payload.decode("utf-8", "replace")}
        limit -= len(records)
        sequence = records[-1].sequence + 1


def _selected(item: dict[str, Any], endpoint_id: str | None, app_name: str | None, since_ms: int | None) -> bool:
    if endpoint_id is not None and item.get("endpoint_id") != endpoint_id:
        return False
    if app_name is not None and item.get("app_name") != app_name:
        return False
    end = item.get("end_ms")
    return since_ms is None or (isinstance(end, int) and end >= since_ms)


def with_timestamps(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with a UTC ``Timestamp`` column before each ``<name>_ms`` column, named ``<name>`` (``NaT``
    where the time is missing); the int ms columns stay.

    >>> with_timestamps(pd.DataFrame({"start_ms": [0], "value": [1.0]})).iloc[0].to_dict()
    {'start': Timestamp('1970-01-01 00:00:00+0000', tz='UTC'), 'start_ms': 0, 'value': 1.0}
    """
    out = df.copy()
    for column in [c for c in df.columns if isinstance(c, str) and c.endswith("_ms")]:
        name = column.removesuffix("_ms")
        if name in out.columns:
            continue
        times = pd.to_datetime(pd.to_numeric(df[column], errors="coerce"), unit="ms", utc=True)
        out.insert(list(out.columns).index(column), name, times)
    return out


def with_endpoint_names(df: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """``df`` with an ``endpoint_name`` column after ``endpoint_id`` (``""`` for an endpoint not registered)."""
    if "endpoint_id" not in df.columns or "endpoint_name" in df.columns:
        return df
    out = df.copy()
    out.insert(list(out.columns).index("endpoint_id") + 1, "endpoint_name",
               [names.get(e, "") for e in df["endpoint_id"]])
    return out


def _decoded(text: Any) -> dict[str, Any]:
    """Stored ``extra_data`` JSON as a dict (``{}`` when absent or unreadable)."""
    if not isinstance(text, str) or not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {"value": value}


def _number(value: Any) -> float:
    """A stored value as a float: NaN where it is missing (an app's NaN is stored as ``None``)."""
    return math.nan if value is None else float(value)


def _named(status: Any, kind: Any) -> dict[str, Any]:
    return {"status": int(status), "status_name": status_name(status), "kind": int(kind), "kind_name": kind_name(kind)}


def _frame(rows: list[dict[str, Any]], columns: list[str], order: list[str]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=columns)
    return df.sort_values(order, kind="stable").reset_index(drop=True) if order and len(df) else df
