"""The endpoint page's "estimated performance": the ``performance-estimation`` app's estimates per window, their
band, the reference, and the realized value wherever labels gave one.

The estimates are the history rows of ``estimated_<metric>`` results the endpoint object already loads; the
band and the reference come from each window's ``extra_data``. The realized value is, in order, the
window's ``extra_data.realized`` (labels known when the window ran), the same app's ``realized_<metric>``
metric, or another app's result named ``<metric>`` for the same window (``model-performance``, which may
have run once late labels arrived).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from modelmon.ui import data
from modelmon.ui.context import UIContext

#: modelmon.stats.cbpe.METRICS then modelmon.stats.dle.METRICS (a regressor's), in page order
METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "mae", "rmse")
PREFIX = "estimated_"
_PERFORMANCE_KIND = 2  # ResultKindApp.model_performance


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value == value:
        return float(value)
    return None


def _by_end(rows: pd.DataFrame) -> dict[int, float | None]:
    return {int(t): _number(v) for t, v in zip(rows["time"].tolist(), rows["value"].tolist(), strict=True)}


def performance_estimates(context: UIContext, endpoint_id: str, results: pd.DataFrame,
                          metrics: pd.DataFrame) -> dict[str, Any] | None:
    """``{app, metrics: [{metric, reference, points: [{start_ms, end_ms, estimate, lower, upper, status,
    realized, realized_source}]}]}`` of the first app with ``estimated_*`` results; ``None`` without one."""
    if results.empty:
        return None
    estimated = results[results["result_name"].isin([PREFIX + m for m in METRICS])
                        & (results["kind"].astype("int64") == _PERFORMANCE_KIND)]
    if estimated.empty:
        return None
    app = str(sorted(estimated["app_name"].unique())[0])
    estimated = estimated[estimated["app_name"] == app]
    out = []
    for metric in METRICS:
        rows = estimated[estimated["result_name"] == PREFIX + metric]
        if rows.empty:
            continue
        ends = [int(t) for t in rows["time"].tolist()]
        extras = data.window_extras(context.backend, context.project, endpoint_id, app, PREFIX + metric, ends)
        own = _own_metric(metrics, app, f"realized_{metric}")
        other, labelled = _labelled(context, endpoint_id, results, metric, app)
        points = []
        for start, end, value, status in zip(rows["start_ms"].astype("int64").tolist(), ends, rows["value"].tolist(),
                                             rows["status"].astype("int64").tolist(), strict=True):
            extra = extras.get(end, {})
            realized, source = _realized(extra, own.get(end), labelled.get(end), app, other)
            points.append({"start_ms": start, "end_ms": end, "estimate": _number(value),
                           "lower": _number(extra.get("lower")), "upper": _number(extra.get("upper")),
                           "reference": _number(extra.get("reference")), "status": status,
                           "realized": realized, "realized_source": source})
        reference = next((p["reference"] for p in reversed(points) if p["reference"] is not None), None)
        out.append({"metric": metric, "result": PREFIX + metric, "reference": reference, "points": points})
    return {"app": app, "metrics": out}


def _labelled(context: UIContext, endpoint_id: str, results: pd.DataFrame, metric: str, app: str
              ) -> tuple[pd.DataFrame, dict[int, float | None]]:
    """Another app's result ``metric`` (``model-performance``'s, measured on labels) per window end.

    An ``irrelevant`` one counts when it was measured (``labeled_rows`` in its ``extra_data``: judged
    against no reference performance), not when there were too few labels (its value is then 0)."""
    other = results[(results["result_name"] == metric) & (results["app_name"] != app)]
    if other.empty:
        return other, {}
    other = other[other["app_name"] == sorted(other["app_name"].unique())[0]]
    unjudged = other[other["status"].astype("int64") < 0]
    measured = set()
    if not unjudged.empty:
        ends = [int(t) for t in unjudged["time"].tolist()]
        extras = data.window_extras(context.backend, context.project, endpoint_id, str(other["app_name"].iloc[0]),
                                    metric, ends)
        measured = {end for end, extra in extras.items() if "labeled_rows" in extra}
    keep = (other["status"].astype("int64") >= 0) | other["time"].astype("int64").isin(measured)
    return other, _by_end(other[keep])


def _own_metric(metrics: pd.DataFrame, app: str, name: str) -> dict[int, float | None]:
    if metrics.empty:
        return {}
    rows = metrics[(metrics["app_name"] == app) & (metrics["metric_name"] == name)]
    return _by_end(rows) if not rows.empty else {}


def _realized(extra: dict[str, Any], own: float | None, labelled: float | None, app: str,
              other: pd.DataFrame) -> tuple[float | None, str | None]:
    """The realized value of a window and where it came from (``None`` when no label says it)."""
    if _number(extra.get("realized")) is not None:
        return _number(extra.get("realized")), app
    if own is not None:
        return own, app
    if labelled is not None:
        return labelled, str(other["app_name"].iloc[0])
    return None, None
