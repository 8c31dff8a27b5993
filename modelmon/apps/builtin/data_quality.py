"""``data-quality``: missing values, out-of-range values, unseen categories, schema drift and type errors."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from modelmon.apps.sdk import ModelMonitoringApplicationBase, MonitoringApplicationContext
from modelmon.apps.sdk.context import LABEL_COLUMN, META_COLUMNS
from modelmon.apps.sdk.thresholds import Thresholds, thresholds
from modelmon.core.arrays import FloatArray
from modelmon.core.results import ModelMonitoringApplicationMetric, ModelMonitoringApplicationResult, ResultKindApp
from modelmon.core.results import ResultStatusApp as Status

#: Names a categorical reference histogram may give its catch-all bucket.
_OTHER_BUCKETS = ("other", "__other__", "_other_", "<other>")
_KIND = ResultKindApp.mm_app_anomaly


class DataQualityApplication(ModelMonitoringApplicationBase):
    """Checks the window's rows against the reference's schema and ranges (results of kind ``mm_app_anomaly``).

    Per result, the value is the worst feature's and ``extra_data`` lists the worst features:

    - ``missing_value_rate``: share of missing values (NaN/None) per feature;
    - ``out_of_range_share``: share of a numeric feature's values outside the reference [min, max];
    - ``unseen_category_share``: share of a categorical feature's values not among the reference categories;
    - ``type_error_share``: share of a numeric feature's values that are not numbers (e.g. ``"n/a"``);
    - ``schema_drift``: number of reference features missing from the window plus features the reference
      does not know; ``detected`` when features are missing, ``potential_detection`` when only added.

    A status is ``detected`` above the second threshold and ``potential_detection`` above the first
    (strictly); ``irrelevant`` when nothing can be judged (no rows, no reference, no such features).

    :param missing_thresholds: ``(potential, detected)`` for ``missing_value_rate``.
    :param out_of_range_thresholds: for ``out_of_range_share``.
    :param unseen_category_thresholds: for ``unseen_category_share``.
    :param type_error_thresholds: for ``type_error_share``.
    :param ignore_columns: columns that are neither features nor bookkeeping (e.g. extra model outputs).
    :param max_features_reported: bound on the per-feature entries in each result's ``extra_data``.
    """

    NAME = "data-quality"

    def __init__(
        self,
        *,
        missing_thresholds: Thresholds | tuple[float, float] = (0.05, 0.2),
        out_of_range_thresholds: Thresholds | tuple[float, float] = (0.01, 0.05),
        unseen_category_thresholds: Thresholds | tuple[float, float] = (0.01, 0.05),
        type_error_thresholds: Thresholds | tuple[float, float] = (0.0, 0.01),
        ignore_columns: tuple[str, ...] | list[str] = (),
        max_features_reported: int = 20,
    ) -> None:
        if max_features_reported < 1:
            raise ValueError(f"max_features_reported must be at least 1, got {max_features_reported!r}")
        self.missing_thresholds = thresholds(missing_thresholds)
        self.out_of_range_thresholds = thresholds(out_of_range_thresholds)
        self.unseen_category_thresholds = thresholds(unseen_category_thresholds)
        self.type_error_thresholds = thresholds(type_error_thresholds)
        self.ignore_columns = tuple(ignore_columns)
        self.max_features_reported = max_features_reported

    def do_tracking(self, monitoring_context: MonitoringApplicationContext) -> list[Any]:
        """The five data-quality results of the window."""
        df = monitoring_context.sample_df
        reference = monitoring_context.feature_stats
        ignored = {*META_COLUMNS, LABEL_COLUMN, *monitoring_context.label_names, *self.ignore_columns}
        features = [c for c in df.columns if c not in ignored or c in reference]
        numeric = {name: _numeric_view(df[name]) for name in features if name in reference
                   and _is_numeric_reference(reference[name])}
        categorical = [name for name in features if name in reference and name not in numeric]
        gaps = {name: np.isnan(values) for name, values in numeric.items() if _plain_numbers(df[name])}
        missing = {name: float(gaps[name].mean()) if name in gaps else float(df[name].isna().mean())
                   for name in features} if len(df) else {}
        out_of_range = {name: _out_of_range(values, reference[name]) for name, values in numeric.items()}
        type_errors = {name: _no_type_errors(gaps[name]) if name in gaps else _type_error_share(df[name], values)
                       for name, values in numeric.items()}
        unseen = {name: _unseen_share(df[name], reference[name]) for name in categorical}
        return [
            self._worst("missing_value_rate", missing, self.missing_thresholds),
            self._worst("out_of_range_share", _drop_none(out_of_range), self.out_of_range_thresholds),
            self._worst("unseen_category_share", _drop_none(unseen), self.unseen_category_thresholds),
            self._worst("type_error_share", _drop_none(type_errors), self.type_error_thresholds),
            _schema_drift(reference, [c for c in df.columns if c not in ignored]),
            ModelMonitoringApplicationMetric("rows", len(df)),
        ]

    def _worst(self, name: str, per_feature: dict[str, float], limits: Thresholds) -> ModelMonitoringApplicationResult:
        """One result whose value is the worst feature's share; the worst features go in extra_data."""
        if not per_feature:
            extra = {"reason": "no rows or no applicable features", "thresholds": limits.to_dict()}
            return ModelMonitoringApplicationResult(name, 0.0, _KIND, Status.irrelevant, extra)
        ranked = sorted(per_feature.items(), key=lambda item: (-item[1], item[0]))
        worst_name, worst = ranked[0]
        statuses = {feature: limits.status(value) for feature, value in ranked}
        extra = {
            "worst_feature": worst_name,
            "features": {f: round(v, 6) for f, v in ranked[: self.max_features_reported]},
            "flagged_features": sorted(f for f, s in statuses.items() if s == Status.detected),
            "thresholds": limits.to_dict(),
        }
        return ModelMonitoringApplicationResult(name, worst, _KIND, limits.status(worst), extra)


def _drop_none(values: dict[str, float | None]) -> dict[str, float]:
    return {k: v for k, v in values.items() if v is not None}


def _is_numeric_reference(stats: dict[str, Any]) -> bool:
    """True when the reference saw numbers for this feature (finite numeric min and max)."""
    bounds = (stats.get("min"), stats.get("max"))
    return all(isinstance(b, int | float) and not isinstance(b, bool) and math.isfinite(b) for b in bounds)


def _numeric_view(column: pd.Series) -> FloatArray:
    """The column as floats; values that are not numbers become NaN."""
    if pd.api.types.is_numeric_dtype(column):
        return column.to_numpy(dtype=float, na_value=np.nan)
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _out_of_range(values: FloatArray, stats: dict[str, Any]) -> float | None:
    """Share of the numeric values outside the reference's [min, max]; ``None`` without values."""
    present = values[~np.isnan(values)]
    if not present.size:
        return None
    return float(np.count_nonzero((present < stats["min"]) | (present > stats["max"])) / present.size)


def _plain_numbers(column: pd.Series) -> bool:
    """Whether ``column`` holds numbers only (missing as NaN or NA): its float view is NaN exactly where it is
    missing, so missing values and type errors are read off that view, without a pandas pass per feature
    (most of the app's time on small windows)."""
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _no_type_errors(gaps: npt.NDArray[np.bool_]) -> float | None:
    """:func:`_type_error_share` of a column of numbers, NaN at ``gaps``: none are type errors."""
    return None if gaps.all() else 0.0


def _type_error_share(column: pd.Series, values: FloatArray) -> float | None:
    """Share of the non-missing values of a numeric feature that are not numbers."""
    present = int(column.notna().sum())
    if not present:
        return None
    return float(np.count_nonzero(np.isnan(values) & column.notna().to_numpy()) / present)


def reference_categories(stats: dict[str, Any]) -> list[str] | None:
    """The categories a categorical reference histogram knows (its labels, without the catch-all bucket)."""
    if isinstance(stats.get("categories"), list):
        return [str(c) for c in stats["categories"]]
    hist = stats.get("hist")
    if not (isinstance(hist, list | tuple) and len(hist) == 2):
        return None
    labels = [str(label) for label in hist[1]]
    if labels and labels[-1] in _OTHER_BUCKETS:
        labels = labels[:-1]
    return labels


def _unseen_share(column: pd.Series, stats: dict[str, Any]) -> float | None:
    """Share of a categorical feature's values that the reference never saw."""
    known = reference_categories(stats)
    present = column.dropna()
    if known is None or present.empty:
        return None
    return float((~present.astype(str).isin(known)).mean())


def _schema_drift(reference: dict[str, Any], window_features: list[str]) -> ModelMonitoringApplicationResult:
    """Features the reference has and the window lacks (detected), or the other way round (potential)."""
    if not reference:
        extra: dict[str, Any] = {"reason": "no reference feature_stats"}
        return ModelMonitoringApplicationResult("schema_drift", 0.0, _KIND, Status.irrelevant, extra)
    missing = sorted(set(reference) - set(window_features))
    added = sorted(set(window_features) - set(reference))
    status = Status.detected if missing else Status.potential_detection if added else Status.no_detection
    extra = {"missing_features": missing, "added_features": added}
    return ModelMonitoringApplicationResult("schema_drift", len(missing) + len(added), _KIND, status, extra)
