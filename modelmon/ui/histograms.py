"""``GET /api/endpoints/{ref}/histograms``: one feature's reference and window histograms over the same bins.

The bins are the histogram-drift app's (:class:`modelmon.stats.Reference` built from the endpoint's
``feature_stats``): for a numeric feature the reference's bin edges plus one open bin below the first edge
and one above the last; for a categorical one the reference's categories plus ``other``. The window's
rows are read from the sample store and counted by ``Reference.histograms``, so the distances returned
are the ones the app computes for that feature and window (before any threshold).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from modelmon.core.errors import NotFound
from modelmon.core.timeutil import iso
from modelmon.endpoints.record import ModelEndpoint
from modelmon.stats import reference_for
from modelmon.stats.distances import all_distances, normalise
from modelmon.ui import data
from modelmon.ui.context import UIContext

DAY_MS = 86_400_000


def window_end(context: UIContext, endpoint_id: str, start_ms: int, end_ms: int | None = None) -> int:
    """The end of the analysed window of ``endpoint_id`` that starts at ``start_ms`` (and ends at ``end_ms``
    when given). ``NotFound`` when no app stored a result or metric for such a window.

    Without ``end_ms`` the window is looked for among the ends the apps' periods give (the shortest when
    apps of several periods analysed it), then anywhere in the day after ``start_ms``: a home whose
    project record is missing (an older demo) has windows of another length than the default period."""
    if end_ms is not None:
        if _window_ends(context, endpoint_id, start_ms, end_ms, end_ms + 1):
            return end_ms
        raise NotFound(f"endpoint {endpoint_id} has no analysed window {iso(start_ms)} – {iso(end_ms)} "
                       f"({start_ms}–{end_ms})")
    periods = sorted({(app.base_period_minutes or context.base_period_minutes()) * 60_000 for app in context.apps()}
                     | {context.base_period_minutes() * 60_000})
    for since, until in ((start_ms + periods[0], start_ms + periods[-1] + 1),
                         (start_ms + 1, start_ms + max(periods[-1], DAY_MS) + 1)):
        ends = _window_ends(context, endpoint_id, start_ms, since, until)
        if ends:
            return min(ends)
    raise NotFound(f"endpoint {endpoint_id} has no analysed window starting at {iso(start_ms)} ({start_ms})")


def _window_ends(context: UIContext, endpoint_id: str, start_ms: int, since_ms: int, until_ms: int) -> list[int]:
    """Ends in ``[since_ms, until_ms)`` of the stored windows starting at ``start_ms`` (results, else metrics)."""
    for table, name in ((context.paths.app_results_tsdb, "result_name"), (context.paths.metrics_tsdb, "metric_name")):
        rows = data.history(context.backend, table, name, endpoint_ids=endpoint_id, since_ms=since_ms,
                            until_ms=until_ms)
        if not rows.empty and "start_ms" in rows.columns:
            ends = rows.loc[rows["start_ms"] == start_ms, "time"]
            if len(ends):
                return [int(e) for e in ends]
    return []


def feature_histograms(context: UIContext, endpoint: ModelEndpoint, start_ms: int, end_ms: int,
                       feature: str | None) -> dict[str, Any]:
    """The histograms object (see docs/ui.md); ``ValueError`` naming the features when ``feature`` is unknown."""
    reference = reference_for(endpoint.feature_stats)
    if not reference.names:
        raise NotFound(f"endpoint {endpoint.name or endpoint.endpoint_id} has no usable reference statistics "
                       "(feature_stats)" + (f": {reference.invalid}" if reference.invalid else ""))
    name = reference.names[0] if feature is None else feature
    if name not in reference.names:
        raise ValueError(f"feature {name!r}: the endpoint's reference has {', '.join(reference.names)}")
    i = reference.names.index(name)
    rows = context.backend.samples.read(endpoint.endpoint_id, start_ms, end_ms, columns=[name])
    counted = reference.histograms(rows)
    slots = int(reference.n_slots[i])
    window = counted.counts[i, :slots].astype(np.float64)
    expected = reference.counts[i, :slots]
    p, q = normalise(window[None, :]), normalise(expected[None, :])
    measures = {k: _number(v[0]) for k, v in all_distances(p, q).items()} if window.sum() else {}
    edges = reference.edges[i]
    categories = reference.categories[i]
    return {
        "feature": name, "kind": reference.kinds[i],
        "window": {"start_ms": start_ms, "end_ms": end_ms, "start": iso(start_ms), "end": iso(end_ms)},
        "edges": None if edges is None else [float(e) for e in edges],
        "categories": None if categories is None else [*map(str, categories), "other"],
        "bins": _labels(edges, categories),
        "reference": [float(v) for v in q[0]], "window_counts": [float(v) for v in p[0]],
        "reference_total": int(expected.sum()), "window_total": int(window.sum()),
        "window_missing": int(counted.nan_counts[i]), "window_rows": counted.n_rows,
        "measures": measures, "features": reference.names,
    }


def _labels(edges: Any, categories: Any) -> list[str]:
    """A label per bin: ``< first edge``, ``[a, b)`` … ``[y, z]``, ``> last edge``; or the categories and ``other``."""
    if categories is not None:
        return [*map(str, categories), "other"]
    e = [f"{float(v):.4g}" for v in edges]
    inner = [f"[{a}, {b})" for a, b in itertools.pairwise(e[:-1])] + [f"[{e[-2]}, {e[-1]}]"]
    return [f"< {e[0]}", *inner, f"> {e[-1]}"]


def _number(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
