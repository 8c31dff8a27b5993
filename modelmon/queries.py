"""Reading what a modelmon home holds: endpoints, latest results, result and metric history, failures,
dead letters.

Each function takes a :class:`~modelmon.backends.Backend` and a project name and returns a DataFrame
with fixed columns (also when empty), so the CLI, the demo and notebooks read the stored records the
same way (the layouts are the contracts of CONTRIBUTING.md). Times are int epoch milliseconds.

>>> parse_since("90s", now_ms=100_000), parse_since("1970-01-01T00:00:01Z", now_ms=0), parse_since("5000", now_ms=0)
(10000, 1000, 5000)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import pandas as pd

from modelmon.backends.base import Backend, SeekTo, scan_all
from modelmon.core.errors import InvalidEvent, NotFound
from modelmon.core.paths import ProjectPaths
from modelmon.core.results import ResultKindApp, ResultStatusApp
from modelmon.core.timeutil import to_ms
from modelmon.endpoints.store import EndpointStore
from modelmon.events import DeadLetter
from modelmon.writer.history import newest_per_window

ENDPOINT_COLUMNS = [
    "endpoint_id", "name", "model", "model_version", "function_uri", "request_count", "error_count",
    "latency_avg_us", "first_request_ms", "last_request_ms", "watermark_ms", "drift_status", "drift_status_name",
    "feature_names", "labels", "skipped_from_ms", "skipped_until_ms",
]
RESULT_COLUMNS = [
    "endpoint_id", "app_name", "result_name", "start_ms", "end_ms", "value", "status", "status_name", "kind",
    "kind_name",
]
LATEST_COLUMNS = [*RESULT_COLUMNS, "extra_data", "updated_ms"]
METRIC_COLUMNS = ["endpoint_id", "app_name", "metric_name", "end_ms", "value"]
FAILURE_COLUMNS = ["endpoint_id", "app_name", "start_ms", "end_ms", "error", "time_ms"]
DEAD_LETTER_COLUMNS = ["time_ms", "function", "source", "reason", "shard", "sequence", "attempts", "payload"]
_FOREVER_MS = 1 << 62
_RELATIVE = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d|w)")
_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}


def parse_since(text: str, now_ms: int) -> int:
    """A start time from ``text``: a duration back from now (``"30m"``, ``"2h"``, ``"1d"``), epoch
    milliseconds, or an ISO-8601 time (UTC unless it has an offset)."""
    text = text.strip()
    match = _RELATIVE.fullmatch(text)
    if match:
        return now_ms - int(float(match[1]) * _UNIT_MS[match[2]])
    if text.isdigit():
        return int(text)
    try:
        return to_ms(text)
    except ValueError:
        raise ValueError(f"--since {text!r}: expected a duration such as 30m/2h/1d, epoch ms or an ISO time") from None


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
            "request_count": int(endpoint.request_count or 0), "error_count": int(endpoint.error_count or 0),
            "latency_avg_us": endpoint.latency_avg_us, "first_request_ms": endpoint.first_request_ms,
            "last_request_ms": endpoint.last_request_ms, "watermark_ms": endpoint.watermark_ms,
            "drift_status": int(endpoint.drift_status), "drift_status_name": status_name(endpoint.drift_status),
            "feature_names": list(endpoint.feature_names), "labels": dict(endpoint.labels),
            "skipped_from_ms": endpoint.skipped_from_ms, "skipped_until_ms": endpoint.skipped_until_ms,
        })
    df = _frame(rows, ENDPOINT_COLUMNS, ["name", "endpoint_id"])
    return df.assign(latency_avg_us=pd.to_numeric(df["latency_avg_us"]))  # NaN, not None, without traffic


def resolve_endpoint(backend: Backend, project: str, ref: str) -> str:
    """The endpoint id that ``ref`` names: an id, a unique id prefix, or a unique endpoint name."""
    endpoints = list_endpoints(backend, project)
    ids = endpoints["endpoint_id"].tolist()
    if ref in ids:
        return ref
    for column, what in (("name", "name"), ("endpoint_id", "id prefix")):
        hits = endpoints[endpoints[column] == ref] if column == "name" else \
            endpoints[endpoints[column].str.startswith(ref)]
        if len(hits) == 1:
            return str(hits["endpoint_id"].iloc[0])
        if len(hits) > 1:
            raise ValueError(f"endpoint {what} {ref!r} is ambiguous: {', '.join(hits['endpoint_id'])}")
    raise NotFound(f"project {project!r} has no endpoint with id or name {ref!r}")


def latest_results(backend: Backend, project: str, *, endpoint_id: str | None = None, app_name: str | None = None,
                   since_ms: int | None = None) -> pd.DataFrame:
    """The latest result per endpoint, app and result name (KV), ``extra_data`` decoded."""
    rows = []
    for _, item in scan_all(backend.kv, ProjectPaths(project).app_results_table):
        if not _selected(item, endpoint_id, app_name, since_ms):
            continue
        extra = item.get("extra_data")
        rows.append({
            **{k: item.get(k) for k in ("endpoint_id", "app_name", "result_name", "start_ms", "end_ms", "value")},
            **_named(item.get("status"), item.get("kind")),
            "extra_data": json.loads(extra) if isinstance(extra, str) and extra else {},
            "updated_ms": item.get("updated_ms"),
        })
    return _frame(rows, LATEST_COLUMNS, ["endpoint_id", "app_name", "result_name"])


def result_history(backend: Backend, project: str, *, endpoint_id: str | None = None, app_name: str | None = None,
                   since_ms: int | None = None, until_ms: int | None = None) -> pd.DataFrame:
    """Every stored window result (TSDB history) ending in ``[since_ms, until_ms)``, one row per
    endpoint, app, result name and window: its newest computation (``modelmon.writer.history``)."""
    df = _history(backend, ProjectPaths(project).app_results_tsdb, "result_name", endpoint_id, app_name, since_ms,
                  until_ms)
    if df is None:
        return _frame([], RESULT_COLUMNS, [])
    rows = [
        {"endpoint_id": r["endpoint_id"], "app_name": r["app_name"], "result_name": r["result_name"],
         "start_ms": int(r["start_ms"]), "end_ms": int(r["time"]), "value": float(r["value"]),
         **_named(r["status"], r["kind"])}
        for r in df.to_dict("records")
    ]
    return _frame(rows, RESULT_COLUMNS, ["endpoint_id", "app_name", "end_ms", "result_name"])


def metric_history(backend: Backend, project: str, *, endpoint_id: str | None = None, app_name: str | None = None,
                   since_ms: int | None = None, until_ms: int | None = None) -> pd.DataFrame:
    """Every stored window metric ending in ``[since_ms, until_ms)``, one row per endpoint, app, metric
    name and window: its newest computation."""
    df = _history(backend, ProjectPaths(project).metrics_tsdb, "metric_name", endpoint_id, app_name, since_ms,
                  until_ms)
    if df is None:
        return _frame([], METRIC_COLUMNS, [])
    rows = [
        {"endpoint_id": r["endpoint_id"], "app_name": r["app_name"], "metric_name": r["metric_name"],
         "end_ms": int(r["time"]), "value": float(r["value"])}
        for r in df.to_dict("records")
    ]
    return _frame(rows, METRIC_COLUMNS, ["endpoint_id", "app_name", "end_ms", "metric_name"])


def _history(backend: Backend, table: str, name: str, endpoint_id: str | None, app_name: str | None,
             since_ms: int | None, until_ms: int | None) -> pd.DataFrame | None:
    """The newest row per window of a history table, or ``None`` when it was never written."""
    filters = {k: v for k, v in (("endpoint_id", endpoint_id), ("app_name", app_name)) if v is not None}
    try:
        df = backend.tsdb.read(table, since_ms or 0, until_ms or _FOREVER_MS, filters=filters or None)
    except NotFound:  # nothing was ever written
        return None
    return newest_per_window(df, name)


def app_failures(backend: Backend, project: str, *, endpoint_id: str | None = None, app_name: str | None = None,
                 since_ms: int | None = None) -> pd.DataFrame:
    """The windows an application failed on (with the error), one row per endpoint, app and window."""
    rows = [
        {k: item.get(k) for k in FAILURE_COLUMNS}
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


def _named(status: Any, kind: Any) -> dict[str, Any]:
    return {"status": int(status), "status_name": status_name(status), "kind": int(kind), "kind_name": kind_name(kind)}


def _frame(rows: list[dict[str, Any]], columns: list[str], order: list[str]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=columns)
    return df.sort_values(order, kind="stable").reset_index(drop=True) if order and len(df) else df
