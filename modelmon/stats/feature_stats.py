"""Reference statistics of a DataFrame in MLRun's ``feature_stats`` format.

Per numeric feature: ``count, mean, std, min, max, 25%, 50%, 75%`` and ``hist: [[counts], [edges]]``
(``bins`` equal-width bins over [min, max], as ``np.histogram`` makes them). Per categorical feature
(strings, booleans, pandas categories): ``count, unique, top, freq``, the ``categories`` kept (the most
frequent ``max_categories``, as strings) and ``hist`` over ``[categories…, other]`` with edges 0…k+1.
Every entry also has ``nan_count``. Statistics that do not exist (the mean of no values) are ``None``,
so the result is plain JSON. Datetime columns are not features and are left out.

>>> stats = feature_stats(pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "a", None]}), bins=2)
>>> stats["x"]["hist"], stats["x"]["mean"]
([[2, 2], [1.0, 2.5, 4.0]], 2.5)
>>> stats["c"]["categories"], stats["c"]["hist"][0], stats["c"]["nan_count"]
(['a', 'b'], [2, 1, 0], 1)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from modelmon.core.arrays import FloatArray
from modelmon.stats.binning import NumericBinner
from modelmon.stats.reference import as_float, category_counts


def is_numeric_column(series: pd.Series) -> bool:
    """Numbers (not booleans, not datetimes) are binned; everything else is categorical."""
    dtype = series.dtype
    return (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
            and not pd.api.types.is_timedelta64_dtype(dtype))


def _is_skipped(series: pd.Series) -> bool:
    return pd.api.types.is_datetime64_any_dtype(series.dtype) or pd.api.types.is_timedelta64_dtype(series.dtype)


def _number(value: Any) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def summary(values: FloatArray) -> dict[str, Any]:
    """``count, mean, std, min, max`` and quartiles of the finite ``values`` (``None`` when undefined)."""
    finite = values[np.isfinite(values)]
    stats: dict[str, Any] = {"count": int(finite.size)}
    if finite.size == 0:
        return stats | dict.fromkeys(("mean", "std", "min", "max", "25%", "50%", "75%"))
    q25, q50, q75 = np.percentile(finite, [25, 50, 75])
    std = finite.std(ddof=1) if finite.size > 1 else np.nan  # pandas' describe() uses ddof=1
    return stats | {
        "mean": _number(finite.mean()), "std": _number(std), "min": _number(finite.min()),
        "max": _number(finite.max()), "25%": _number(q25), "50%": _number(q50), "75%": _number(q75),
    }


def numeric_edges(values: FloatArray, bins: int) -> FloatArray | None:
    """``bins`` equal-width edges over the finite values' range (``np.histogram``'s), None if there are none."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    return np.histogram_bin_edges(finite, bins=bins)


def _numeric_stats(values: FloatArray, bins: int) -> dict[str, Any]:
    stats = summary(values) | {"nan_count": int(np.isnan(values).sum())}
    edges = numeric_edges(values, bins)
    if edges is None:
        return stats | {"hist": [[], []]}
    # Count with the same binning windows get, so a window equal to the reference scores exactly 0.
    counts = NumericBinner([edges]).count([np.where(np.isfinite(values), values, np.nan)])[0, 2 : bins + 2]
    return stats | {"hist": [counts.tolist(), edges.tolist()]}


def _categorical_stats(series: pd.Series, max_categories: int) -> dict[str, Any]:
    present = series.dropna().astype(str)
    frequencies = present.value_counts(sort=False)
    # Most frequent first, ties by name, so the kept categories do not depend on row order.
    order = sorted(frequencies.items(), key=lambda item: (-item[1], item[0]))
    categories = [name for name, _ in order[:max_categories]]
    counts, missing = category_counts(series, pd.Index(categories, dtype=object))
    stats: dict[str, Any] = {"count": int(present.size), "unique": int(frequencies.size),
                             "top": order[0][0] if order else None, "freq": int(order[0][1]) if order else None,
                             "nan_count": missing, "categories": categories}
    return stats | {"hist": [counts.tolist(), list(range(len(categories) + 2))]}


def feature_stats(df: pd.DataFrame, bins: int = 20, max_categories: int = 50) -> dict[str, dict[str, Any]]:
    """Reference statistics of every numeric and categorical column of ``df`` (see the module docstring)."""
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"feature_stats needs a pandas DataFrame, got {type(df).__name__}")
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValueError(f"bins must be a positive integer, got {bins!r}")
    if isinstance(max_categories, bool) or not isinstance(max_categories, int) or max_categories < 1:
        raise ValueError(f"max_categories must be a positive integer, got {max_categories!r}")
    if not df.columns.is_unique:
        raise ValueError(f"duplicate column names: {sorted(map(str, df.columns[df.columns.duplicated()]))}")
    stats: dict[str, dict[str, Any]] = {}
    for name in df.columns:
        series = df[name]
        if _is_skipped(series):
            continue
        if is_numeric_column(series):
            stats[str(name)] = _numeric_stats(np.asarray(as_float(series), dtype=np.float64), bins)
        else:
            stats[str(name)] = _categorical_stats(series, max_categories)
    return stats
