"""Feature importance for ranking drift by impact: mutual information with the model's prediction.

A drifted feature the model barely uses matters less than a slightly drifted one it relies on. Without
the model at hand (an app sees rows, not the model), how much the prediction depends on a feature is
estimated from the reference rows as the mutual information between the feature and the prediction:
model-agnostic, catches non-linear and non-monotonic dependence, and costs one pass over the rows.

Both sides are discretised: a numeric column with more than ``bins`` distinct values into ``bins``
quantile bins, any other column (text, few distinct numbers) by value, keeping the ``bins * 5`` most
frequent values. The plug-in estimate from the contingency table is biased upwards by about
``(cells_x - 1)(cells_y - 1) / 2n`` (Miller-Madow), so that much is subtracted and the result clipped
at 0: an independent feature scores about 0, not a value that grows with its number of bins.

>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=2000)
>>> frame = pd.DataFrame({"used": x, "noise": rng.normal(size=2000), "prediction": x > np.median(x)})
>>> mi = mutual_information(frame, ["used", "noise"], "prediction")
>>> round(mi["used"], 2), round(mi["noise"], 3)
(0.69, 0.0)

(ln 2 = 0.69 is all there is to know about a balanced yes/no prediction.)
>>> normalised(mi)["used"]
1.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

Codes = npt.NDArray[np.intp]


def _codes(series: pd.Series, bins: int) -> tuple[Codes, int]:
    """Cell index per row (-1 where missing) and the number of cells."""
    numeric = pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)
    if numeric:
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = values[np.isfinite(values)]
        if np.unique(finite).size > bins:
            edges = np.unique(np.quantile(finite, np.linspace(0.0, 1.0, bins + 1))[1:-1])
            codes = np.searchsorted(edges, values, side="right").astype(np.intp)
            codes[~np.isfinite(values)] = -1
            return codes, edges.size + 1
    try:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
    except TypeError:  # unhashable values (JSON objects): compare their text
        codes, uniques = pd.factorize(series.map(lambda v: v if v is None else str(v)), use_na_sentinel=True)
    keep = bins * 5
    if len(uniques) > keep:  # the most frequent values, the rest in one cell
        counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
        rank = np.empty(len(uniques), dtype=np.intp)
        rank[np.argsort(-counts, kind="stable")] = np.arange(len(uniques))
        codes = np.where(codes >= 0, np.minimum(rank[np.maximum(codes, 0)], keep), -1)
        return codes.astype(np.intp), keep + 1
    return codes.astype(np.intp), max(len(uniques), 1)


def _mi(x: Codes, nx: int, y: Codes, ny: int) -> float:
    """Bias-corrected mutual information (nats) of two code arrays; rows missing on either side dropped."""
    both = (x >= 0) & (y >= 0)
    n = int(both.sum())
    if n == 0:
        return 0.0
    joint = np.bincount(x[both] * ny + y[both], minlength=nx * ny).reshape(nx, ny).astype(np.float64)
    px, py = joint.sum(axis=1), joint.sum(axis=0)
    cells = joint > 0
    outer = np.outer(px, py)
    plug_in = float(np.sum(joint[cells] / n * np.log(joint[cells] * n / outer[cells])))
    bias = (np.count_nonzero(px) - 1) * (np.count_nonzero(py) - 1) / (2.0 * n)
    return max(plug_in - bias, 0.0)


def mutual_information(frame: pd.DataFrame, features: Sequence[str], target: str, *,
                       bins: int = 10) -> dict[str, float]:
    """Mutual information (nats, bias-corrected) between each of ``features`` and ``target`` in ``frame``.

    Features missing from ``frame`` are left out of the answer. ``ValueError`` when ``target`` is not a
    column or ``bins`` is not an integer of at least 2.
    """
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
        raise ValueError(f"bins must be an integer of at least 2, got {bins!r}")
    if target not in frame.columns:
        raise ValueError(f"the prediction column {target!r} is not in the reference rows "
                         f"(columns: {list(frame.columns)[:20]})")
    y, ny = _codes(frame[target], bins)
    out: dict[str, float] = {}
    for name in features:
        if name in frame.columns and name != target:
            x, nx = _codes(frame[name], bins)
            out[name] = _mi(x, nx, y, ny)
    return out


def check_importance(importance: object) -> dict[str, float]:
    """User-given importances as ``{feature: non-negative finite number}``, else a ``ValueError``."""
    if not isinstance(importance, Mapping) or not importance:
        raise ValueError(f"feature_importance must be a non-empty mapping of feature name to a number, "
                         f"got {importance!r}")
    out: dict[str, float] = {}
    for name, value in importance.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise ValueError(f"feature_importance[{name!r}] must be a finite non-negative number, got {value!r}")
        out[str(name)] = float(value)
    return out


def normalised(importance: Mapping[str, float]) -> dict[str, float]:
    """Importances divided by the largest, so the most important feature has 1 (all 0 stay 0)."""
    top = max(importance.values(), default=0.0)
    return {name: (value / top if top > 0 else 0.0) for name, value in importance.items()}


def impact_ranking(drift: Mapping[str, float], importance: Mapping[str, float]) -> list[dict[str, float | str | None]]:
    """``drift``'s features as ``{feature, drift, importance, impact}``, highest impact (drift × importance) first.

    Features without an importance (none known, or not in ``importance``) have ``importance`` and
    ``impact`` ``None`` and follow those with one, by drift; ties go by drift, then name.

    >>> impact_ranking({"a": 0.5, "b": 0.2, "c": 0.3}, {"a": 0.1, "b": 1.0})
    ... # doctest: +NORMALIZE_WHITESPACE
    [{'feature': 'b', 'drift': 0.2, 'importance': 1.0, 'impact': 0.2},
     {'feature': 'a', 'drift': 0.5, 'importance': 0.1, 'impact': 0.05},
     {'feature': 'c', 'drift': 0.3, 'importance': None, 'impact': None}]
    """
    rows: list[dict[str, float | str | None]] = []
    for name, value in drift.items():
        weight = importance.get(name)
        weight = None if weight is None else float(f"{weight:.6g}")
        impact = None if weight is None else float(f"{value * weight:.6g}")
        rows.append({"feature": name, "drift": float(value), "importance": weight, "impact": impact})

    def key(row: dict[str, float | str | None]) -> tuple[int, float, float, str]:
        impact, value = row["impact"], row["drift"]
        assert isinstance(value, float) and isinstance(row["feature"], str)
        return (impact is None, -(impact if isinstance(impact, float) else 0.0), -value, row["feature"])

    return sorted(rows, key=key)
