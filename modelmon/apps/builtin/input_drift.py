"""A cheap input-drift check on histograms: the largest per-feature total variation distance.

Window histograms may be in MLRun's padded form (one open-ended bin below and one above the
reference's bins); the reference then counts zero in those.

>>> max_tvd({"x": {"hist": [[5, 5], [0, 1, 2]]}}, {"x": {"hist": [[10, 0], [0, 1, 2]]}})
0.5
>>> round(max_tvd({"x": {"hist": [[2, 4, 4, 0], [-1e9, 0, 1, 2, 1e9]]}}, {"x": {"hist": [[5, 5], [0, 1, 2]]}}), 6)
0.2
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modelmon.core.arrays import FloatArray


def max_tvd(window_stats: dict[str, dict[str, Any]], reference_stats: dict[str, dict[str, Any]]) -> float | None:
    """Largest TVD ``Σ|p−q|/2`` over the features both histograms cover; ``None`` when there are none."""
    distances = []
    for name, reference in reference_stats.items():
        window = window_stats.get(name)
        p, q = _counts(window), _counts(reference)
        if p is not None and q is not None and p.size == q.size + 2:
            q = np.concatenate([[0.0], q, [0.0]])
        if p is None or q is None or p.shape != q.shape or not p.sum() or not q.sum():
            continue
        distances.append(0.5 * float(np.abs(p / p.sum() - q / q.sum()).sum()))
    return max(distances) if distances else None


def _counts(stats: dict[str, Any] | None) -> FloatArray | None:
    hist = (stats or {}).get("hist")
    if not (isinstance(hist, list | tuple) and len(hist) == 2):
        return None
    try:
        return np.asarray(hist[0], dtype=float)
    except (TypeError, ValueError):
        return None
