"""``multivariate-drift``: PCA reconstruction error against the reference, for drift in how features move together.

Result (kind ``data_drift``) ``reconstruction_error``: the window's mean distance between each
standardised row and its reconstruction from the reference's principal components (see
:mod:`modelmon.stats.reconstruction`). Its status compares that mean with what windows of the same
size drawn like the reference give: ``z = (mean - reference mean) / spread``; ``potential_detection``
beyond ``potential_sigmas`` (3), ``detected`` beyond ``detected_sigmas`` (5), in either direction (an
error that falls is a change too: rows closer to the reference's main directions than before).
Metric ``reconstruction_error_z``: that ``z``.

The app needs reference *rows*: the endpoint's ``feature_stats`` are per-feature histograms and say
nothing about correlations. By default it uses the rows kept when the endpoint was registered with
``reference_data`` (``context.reference_rows``), fitted once per endpoint and refitted only when the
endpoint is registered with a new reference; the fits of the ``max_cached_endpoints`` most recently
analysed endpoints are kept. Given ``reference_data`` itself (a DataFrame, or a parquet/CSV path for a
deployed function), it fits once when built and judges every endpoint against it. Without either, a
window is ``irrelevant``; registered rows it cannot use (say, one numeric column) make it ``irrelevant``
with the reason.

Columns: ``columns=``, else the reference's numeric and boolean columns — of registered rows, only the
endpoint's ``feature_names`` — without the bookkeeping columns and ``label``; categorical, text and time
columns are left out (encode them as numbers upstream to include them) and named in ``extra_data``, as are
columns missing or constant in the reference. A
window that lacks some of the columns is judged on the others (a model of those, fitted once); with
fewer than two, or fewer than ``min_window_rows`` rows, it is ``irrelevant``. Missing and
non-numeric values count as the reference mean, in the reference and in windows alike.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from modelmon.apps.reference_rows import DEFAULT_CACHED_ENDPOINTS, Fitted, ReferenceFits
from modelmon.apps.sdk import ModelMonitoringApplicationBase, MonitoringApplicationContext
from modelmon.apps.sdk.context import LABEL_COLUMN, META_COLUMNS
from modelmon.apps.sdk.thresholds import thresholds
from modelmon.core.arrays import FloatArray
from modelmon.core.results import ModelMonitoringApplicationMetric, ModelMonitoringApplicationResult, ResultKindApp
from modelmon.core.results import ResultStatusApp as Status
from modelmon.stats.reconstruction import (
    DEFAULT_CLIP,
    DEFAULT_VARIANCE,
    Baseline,
    ReconstructionModel,
    ReconstructionReference,
)

RECONSTRUCTION_ERROR = "reconstruction_error"
Z_METRIC = "reconstruction_error_z"
NO_REFERENCE = ("no reference rows: multivariate drift needs them (feature_stats hold only per-feature "
                "histograms); register the endpoint with reference_data=<DataFrame> (its rows are kept), or "
                "give the app reference_data=<DataFrame or parquet/CSV path>")
NOT_NUMERIC = "not numeric (categorical, text and time columns are not part of the PCA)"


@dataclasses.dataclass(frozen=True)
class _Reference:
    """What one reference was fitted into, and the columns it left out (with why)."""

    reconstruction: ReconstructionReference
    left_out: dict[str, str]
    total_rows: int  #: the reference's rows before any sampling (registration's, or max_reference_rows)


class MultivariateDriftApplication(ModelMonitoringApplicationBase):
    """Drift of the features' joint distribution as PCA reconstruction error (see the module docstring).

    :param reference_data: the reference rows: a DataFrame, or a parquet/CSV path (deployed apps).
    :param columns: the columns to use (default: the reference's numeric and boolean columns).
    :param n_components: share of the standardised variance the kept components explain, in (0, 1),
        or a number of components (fewer than the columns).
    :param clip: standardised values are capped at this many reference standard deviations (``None``:
        not capped), so that rare extreme values do not rule the error.
    :param potential_sigmas: ``|z|`` beyond which the status is ``potential_detection``.
    :param detected_sigmas: ``|z|`` beyond which the status is ``detected``.
    :param min_reference_rows: the fewest reference rows accepted (a smaller reference is an error).
    :param min_window_rows: windows with fewer rows are ``irrelevant``.
    :param max_reference_rows: a larger reference is subsampled (seeded, order kept) to this many rows.
    :param max_columns_in_extra_data: bound on the columns listed in ``extra_data``.
    :param max_cached_endpoints: endpoints whose fits of their registered rows are kept (least recently
        analysed dropped first; a dropped one is fitted again on its next window).
    """

    NAME = "multivariate-drift"

    def __init__(
        self,
        reference_data: pd.DataFrame | str | None = None,
        *,
        columns: Sequence[str] | None = None,
        n_components: float | int = DEFAULT_VARIANCE,
        clip: float | None = DEFAULT_CLIP,
        potential_sigmas: float = 3.0,
        detected_sigmas: float = 5.0,
        min_reference_rows: int = 100,
        min_window_rows: int = 20,
        max_reference_rows: int = 100_000,
        max_columns_in_extra_data: int = 50,
        max_cached_endpoints: int = DEFAULT_CACHED_ENDPOINTS,
    ) -> None:
        self._thresholds = thresholds((potential_sigmas, detected_sigmas), name="sigmas", minimum=0.0)
        for name, value, floor in (("min_reference_rows", min_reference_rows, 10),
                                   ("min_window_rows", min_window_rows, 2),
                                   ("max_reference_rows", max_reference_rows, 10),
                                   ("max_columns_in_extra_data", max_columns_in_extra_data, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < floor:
                raise ValueError(f"{name} must be an integer of at least {floor}, got {value!r}")
        if max_reference_rows < min_reference_rows:
            raise ValueError(f"max_reference_rows ({max_reference_rows}) is below min_reference_rows "
                             f"({min_reference_rows})")
        if columns is not None and (isinstance(columns, str) or not all(isinstance(c, str) for c in columns)):
            raise ValueError(f"columns must be a list of column names, got {columns!r}")
        self.reference_data = reference_data
        self.columns = None if columns is None else list(columns)
        self.n_components = n_components
        self.clip = clip
        self.potential_sigmas = potential_sigmas
        self.detected_sigmas = detected_sigmas
        self.min_reference_rows = min_reference_rows
        self.min_window_rows = min_window_rows
        self.max_reference_rows = max_reference_rows
        self.max_columns_in_extra_data = max_columns_in_extra_data
        self.max_cached_endpoints = max_cached_endpoints
        self._references: ReferenceFits[_Reference] = ReferenceFits(
            reference_data, self._fit, fit_registered=self._fit_registered, max_endpoints=max_cached_endpoints)

    def _fit(self, frame: pd.DataFrame, features: Sequence[str] = (), what: str = "reference_data") -> _Reference:
        """The reference's usable columns standardised and its full PCA model fitted (errors name the problem).

        ``features``: of registered rows, the endpoint's feature names (its labels and outputs are not inputs).
        """
        total_rows = int(frame.attrs.get("reference_rows_total", len(frame)))  # registration kept a sample
        frame = frame.rename(columns=str)  # window columns are names: a reference's 0 is the window's "0"
        left_out: dict[str, str] = {}
        if self.columns is not None:
            missing = [c for c in self.columns if c not in frame.columns]
            if missing:
                raise ValueError(f"{what} has no column(s) {', '.join(missing)}")
            candidates = self.columns
        else:
            candidates = [str(c) for c in frame.columns if c not in META_COLUMNS and c != LABEL_COLUMN
                          and (not features or c in features)]
            left_out = {c: NOT_NUMERIC for c in candidates if not _is_number_column(frame[c])}
            candidates = [c for c in candidates if c not in left_out]
        if len(frame) > self.max_reference_rows:
            keep = np.sort(np.random.default_rng(0).choice(len(frame), self.max_reference_rows, replace=False))
            frame = frame.iloc[keep]
        try:
            reference = ReconstructionReference(
                _matrix(frame, candidates), candidates, n_components=self.n_components, clip=self.clip,
                min_rows=self.min_reference_rows)
        except ValueError as exc:
            listed = f" (left out: {_listing(left_out)})" if left_out else ""
            raise ValueError(f"{what}: {exc}{listed}") from None
        reference.model(reference.columns)
        return _Reference(reference, left_out | reference.left_out, total_rows)

    def _fit_registered(self, rows: pd.DataFrame, context: MonitoringApplicationContext) -> _Reference:
        return self._fit(rows, [str(f) for f in context.feature_names], "the endpoint's reference rows")

    def do_tracking(self, monitoring_context: MonitoringApplicationContext) -> list[Any]:
        """The window's mean reconstruction error, judged against the reference's own variability."""
        fitted = self._references.get(monitoring_context)
        if fitted.value is None:
            return self._irrelevant({"reason": fitted.problem or NO_REFERENCE})
        reference, left_out = fitted.value.reconstruction, fitted.value.left_out
        window = monitoring_context.sample_df
        present = [c for c in reference.columns if c in window.columns]
        absent = [c for c in reference.columns if c not in window.columns]
        if len(present) < 2:
            return self._irrelevant({"reason": f"the window has {len(present)} of the reference's columns; "
                                               "at least 2 are needed", "absent": self._bounded(absent)})
        if len(window) < self.min_window_rows:
            return self._irrelevant({"reason": f"the window has {len(window)} rows; at least "
                                               f"{self.min_window_rows} are needed"})
        model = reference.model(present)
        values = _matrix(window, present)
        missing_share = 1.0 - np.count_nonzero(np.isfinite(values)) / values.size
        mean_error = float(model.errors(reference.standardise(values, present)).mean())
        baseline = model.baseline(len(window))
        z = (mean_error - baseline.mean) / baseline.spread if baseline.spread > 0 else 0.0
        status = self._thresholds.status(abs(z))
        extra = self._extra(model, reference, baseline, z, missing_share, absent, left_out, fitted)
        return [ModelMonitoringApplicationResult(RECONSTRUCTION_ERROR, mean_error, ResultKindApp.data_drift,
                                                 status, extra),
                ModelMonitoringApplicationMetric(Z_METRIC, z)]

    def _extra(self, model: ReconstructionModel, reference: ReconstructionReference, baseline: Baseline, z: float,
               missing_share: float, absent: list[str], left_out: dict[str, str],
               fitted: Fitted[_Reference]) -> dict[str, Any]:
        """What the status was judged by: the reference's mean and spread, the bounds, the model."""
        mean, spread = baseline.mean, baseline.spread
        bounds = {level: [_rounded(max(mean - sigmas * spread, 0.0)), _rounded(mean + sigmas * spread)]
                  for level, sigmas in (("potential", self.potential_sigmas), ("detected", self.detected_sigmas))}
        return {
            "z": _rounded(z), "reference_mean": _rounded(mean), "spread": _rounded(spread), "bounds": bounds,
            "sigmas": self._thresholds.to_dict(), "n_window": baseline.n_window, "n_reference": reference.n_rows,
            "reference_rows_total": fitted.value.total_rows if fitted.value is not None else reference.n_rows,
            "reference_chunks": baseline.chunks, "n_components": model.n_components,
            "explained_variance": _rounded(model.explained_variance), "columns_used": len(model.columns),
            "columns": self._bounded(list(model.columns)), "missing_share": _rounded(missing_share),
            "absent": self._bounded(absent), "left_out": dict(list(left_out.items())[
                : self.max_columns_in_extra_data]),
            "reference": fitted.source,  # the app's reference_data, or the rows registered with the endpoint
        }

    def _bounded(self, names: list[str]) -> list[str]:
        return names[: self.max_columns_in_extra_data]

    @staticmethod
    def _irrelevant(extra_data: dict[str, Any]) -> list[Any]:
        return [ModelMonitoringApplicationResult(RECONSTRUCTION_ERROR, 0.0, ResultKindApp.data_drift,
                                                 Status.irrelevant, extra_data)]


def _is_number_column(series: pd.Series) -> bool:
    """Numbers and booleans (as 0/1) enter the PCA; datetimes, categories and text do not."""
    dtype = series.dtype
    return pd.api.types.is_bool_dtype(dtype) or (
        pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_timedelta64_dtype(dtype))


def _matrix(frame: pd.DataFrame, columns: Sequence[str]) -> FloatArray:
    """``frame[columns]`` as floats; values that are not numbers (text in a numeric column, None) are NaN."""
    dtypes = frame.dtypes[list(columns)]
    if all(isinstance(d, np.dtype) and d.kind in "fiu" for d in dtypes):  # plain numpy numbers: one copy
        return frame[list(columns)].to_numpy(dtype=np.float64)
    out = np.empty((len(frame), len(columns)))
    for i, name in enumerate(columns):
        series = frame[name]
        if not _is_number_column(series):
            series = pd.to_numeric(series, errors="coerce")
        out[:, i] = series.to_numpy(dtype=np.float64, na_value=np.nan)
    return out


def _listing(reasons: dict[str, str]) -> str:
    return "; ".join(f"{name}: {reason}" for name, reason in list(reasons.items())[:10])


def _rounded(value: float) -> float:
    return float(f"{value:.6g}") if math.isfinite(value) else value
