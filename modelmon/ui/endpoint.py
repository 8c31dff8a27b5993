"""``GET /api/endpoints/{ref}``: everything the endpoint page draws, for the windows ending in a time range.

Results and metrics come from the history tables (:func:`modelmon.ui.data.history`), thresholds from
what the app judged the latest window by (:mod:`modelmon.ui.thresholds`), per-feature drift from the
histogram app's per-window ``extra_data``, traffic from the predictions and errors TSDB, data quality from
the data-quality app's latest results, alerts (every activation of the endpoint, whatever the range) and the
writer's detected results in the range from :mod:`modelmon.ui.alerts`. See docs/ui.md for every field.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from modelmon.core.errors import NotFound
from modelmon.core.timeutil import iso
from modelmon.endpoints.record import ModelEndpoint
from modelmon.endpoints.store import EndpointStore
from modelmon.queries import kind_name, resolve_endpoint, status_name
from modelmon.ui import data
from modelmon.ui.alerts import activations, detections
from modelmon.ui.context import UIContext
from modelmon.ui.drift_impact import drift_impact
from modelmon.ui.performance_estimates import performance_estimates
from modelmon.ui.thresholds import result_thresholds
from modelmon.writer.latest import result_key

DAY_MS = 86_400_000
DEFAULT_RANGE_MS = 7 * DAY_MS
FEATURE_RESULT = "general_drift"
DEFAULT_MEASURE = "tvd"
#: The record fields the API leaves out: the reference statistics are large (``/histograms`` serves them).
HIDDEN_FIELDS = ("feature_stats",)


def find_endpoint(context: UIContext, ref: str) -> ModelEndpoint:
    """The endpoint ``ref`` names: an id (one key lookup), else a unique id prefix or name.

    ``NotFound`` when none matches; ``ValueError`` when ``ref`` is ambiguous."""
    store = EndpointStore(context.backend.kv, context.project)
    endpoint = store.get(ref)
    if endpoint is None:
        endpoint = store.get(resolve_endpoint(context.backend, context.project, ref))
    if endpoint is None:  # deleted in between
        raise NotFound(f"project {context.project!r} has no endpoint {ref!r}")
    return endpoint


def endpoint_detail(context: UIContext, endpoint: ModelEndpoint, since_ms: int, until_ms: int,
                    measure: str = DEFAULT_MEASURE) -> dict[str, Any]:
    """The endpoint object (see docs/ui.md) for windows ending in ``[since_ms, until_ms)``."""
    backend, project, endpoint_id = context.backend, context.project, endpoint.endpoint_id
    results = data.history(backend, context.paths.app_results_tsdb, "result_name", endpoint_ids=endpoint_id,
                           since_ms=since_ms, until_ms=until_ms)
    metrics = data.history(backend, context.paths.metrics_tsdb, "metric_name", endpoint_ids=endpoint_id,
                           since_ms=since_ms, until_ms=until_ms)
    latest = _latest(context, endpoint_id, results)
    return {
        "endpoint": _record(endpoint),
        "range": {"since": iso(since_ms), "until": iso(until_ms), "since_ms": since_ms, "until_ms": until_ms},
        "windows": _windows(results, metrics),
        "results": _results(context, results, latest),
        "metrics": _metrics(metrics),
        "feature_drift": _feature_drift(context, endpoint, results, measure, latest),
        "performance_estimation": performance_estimates(context, endpoint_id, results, metrics),
        "traffic": data.traffic_series(backend, project, endpoint_id, since_ms, until_ms),
        "data_quality": _data_quality(context, results, latest),
        "alerts": activations(context, endpoint_id=endpoint_id),
        "detections": detections(context, endpoint_id, since_ms, until_ms),
    }


def _record(endpoint: ModelEndpoint) -> dict[str, Any]:
    record = {k: v for k, v in endpoint.to_dict().items() if k not in HIDDEN_FIELDS}
    record["drift_status_name"] = status_name(endpoint.drift_status)
    for field in ("first_request_ms", "last_request_ms", "watermark_ms", "created_ms"):
        value = record.get(field)
        record[field.removesuffix("_ms")] = None if value is None else iso(value)
    return record


def _windows(results: pd.DataFrame, metrics: pd.DataFrame) -> list[dict[str, int]]:
    """Every window that has a result or a metric, by start then end."""
    parts = [pd.DataFrame({"start_ms": rows["start_ms"], "end_ms": rows["time"]}).dropna()
             for rows in (results, metrics) if not rows.empty and "start_ms" in rows.columns]
    if not parts:
        return []
    pairs = pd.concat(parts, ignore_index=True).astype("int64").drop_duplicates().sort_values(["start_ms", "end_ms"])
    return [{"start_ms": s, "end_ms": e} for s, e in zip(pairs["start_ms"].tolist(), pairs["end_ms"].tolist(),
                                                         strict=True)]


def _latest(context: UIContext, endpoint_id: str, results: pd.DataFrame) -> dict[tuple[str, str], dict[str, Any]]:
    """The latest-results item (``extra_data`` decoded) of each app and result in ``results``."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    if results.empty:
        return out
    table = context.paths.app_results_table
    for app, result in results[["app_name", "result_name"]].drop_duplicates().itertuples(index=False):
        item = context.backend.kv.get(table, result_key(endpoint_id, app, result))
        if item is not None:
            out[(str(app), str(result))] = {**item, "extra_data": data.decoded(item.get("extra_data"))}
    return out


def _results(context: UIContext, results: pd.DataFrame,
             latest: dict[tuple[str, str], dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if results.empty:
        return out
    for (app, result), rows in results.groupby(["app_name", "result_name"], sort=True):
        kind = int(rows["kind"].iloc[-1])
        item = latest.get((str(app), str(result)))
        limits, source = result_thresholds(context, str(app), str(result), None if item is None else item["extra_data"])
        out.append({
            "app": app, "result": result, "kind": kind, "kind_name": kind_name(kind),
            "thresholds": limits, "thresholds_source": source,
            "points": [{"start_ms": s, "end_ms": e, "value": v, "status": st} for s, e, v, st in zip(
                rows["start_ms"].astype("int64").tolist(), rows["time"].tolist(), rows["value"].tolist(),
                rows["status"].astype("int64").tolist(), strict=True)],
        })
    return out


def _metrics(metrics: pd.DataFrame) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if metrics.empty:
        return out
    if "start_ms" not in metrics.columns:
        metrics = metrics.assign(start_ms=np.nan)
    for (app, metric), rows in metrics.groupby(["app_name", "metric_name"], sort=True):
        starts = [None if s != s else int(s) for s in rows["start_ms"].tolist()]
        out.append({"app": app, "metric": metric, "points": [
            {"start_ms": s, "end_ms": e, "value": v}
            for s, e, v in zip(starts, rows["time"].tolist(), rows["value"].tolist(), strict=True)]})
    return out


def _feature_drift(context: UIContext, endpoint: ModelEndpoint, results: pd.DataFrame, measure: str,
                   latest: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any] | None:
    """Features x windows of one per-feature measure from the histogram app's ``general_drift`` ``extra_data``
    (``features: {feature: {tvd, hellinger, kld, ..., status}}``); ``drifted`` is the app's per-feature status;
    ``impact`` the latest window's ranking by impact (:mod:`modelmon.ui.drift_impact`)."""
    if results.empty:
        return None
    apps = context.apps_of_class(context.DRIFT_CLASS)
    rows = results[results["app_name"].isin(apps) & (results["result_name"] == FEATURE_RESULT)]
    if rows.empty:
        return None
    app = str(rows["app_name"].iloc[0])
    rows = rows[rows["app_name"] == app]
    ends = rows["time"].tolist()
    extras = data.window_extras(context.backend, context.project, endpoint.endpoint_id, app, FEATURE_RESULT, ends)
    features = list(endpoint.feature_names)
    for extra in extras.values():
        for name in extra.get("features") or {}:
            if name not in features:
                features.append(str(name))
    index = {name: i for i, name in enumerate(features)}
    values: list[list[float | None]] = [[None] * len(ends) for _ in features]
    drifted: list[list[bool | None]] = [[None] * len(ends) for _ in features]
    for column, end in enumerate(ends):
        per_feature = extras.get(int(end), {}).get("features")
        if not isinstance(per_feature, dict):
            continue
        for name, figures in per_feature.items():
            if not isinstance(figures, dict):
                continue
            value = figures.get(measure)
            if isinstance(value, int | float) and not isinstance(value, bool):
                values[index[name]][column] = float(value)
            if "status" in figures:
                drifted[index[name]][column] = figures["status"] == 2
    return {"app": app, "result": FEATURE_RESULT, "measure": measure, "features": features,
            "windows": [{"start_ms": s, "end_ms": e} for s, e in zip(rows["start_ms"].astype("int64").tolist(),
                                                                      ends, strict=True)],
            "values": values, "drifted": drifted, "impact": drift_impact(latest, [app])}


def _data_quality(context: UIContext, results: pd.DataFrame,
                  latest: dict[tuple[str, str], dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The data-quality app's latest results with their per-feature figures; ``None`` without that app."""
    apps = set(context.apps_of_class(context.QUALITY_CLASS))
    out = []
    for (app, result), item in sorted(latest.items()):
        if app not in apps:
            continue
        extra = item["extra_data"]
        out.append({
            "app": app, "result": result, "value": item.get("value"), "status": item.get("status"),
            "status_name": status_name(item.get("status")), "start_ms": item.get("start_ms"),
            "end_ms": item.get("end_ms"), "features": extra.get("features") or {},
            "flagged_features": extra.get("flagged_features") or [], "worst_feature": extra.get("worst_feature"),
            "thresholds": extra.get("thresholds"), "reason": extra.get("reason"),
        })
    return out or None
