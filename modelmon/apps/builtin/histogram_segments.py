"""Per-segment references for ``histogram-data-drift``'s ``segment_by``.

A segment's window is compared with the *same segment* of the reference, not with the whole
reference: segments differ from each other by nature (one region buys more than another), and
comparing a segment with the whole would flag that difference in every window. Each segment's
reference is its reference rows counted over the endpoint reference's bins, so that the distances
mean the same as the whole window's.

Looking at ``k`` segments makes ``k`` chances of a chance flag, so each segment's noise threshold is
the null quantile at ``1 - (1 - q) / k`` instead of ``q`` (Bonferroni over segments). Simulating that
per window and segment, as the whole window's thresholds are, cost seconds per segment for 30 features
(an extreme quantile needs many multinomial draws, and segment sizes vary between windows, so the
cache rarely helps). Instead, once per segment, ``null_draws`` scores are simulated for a window of
:data:`BASE_WINDOW` rows; the quantile is read from a scaled chi-square fitted to the squared scores'
mean and variance (Wilson-Hilferty), which from 1,000 draws lands within a few percent of the 99.9%
quantile of 40,000 draws (closer than the empirical quantile of the same 1,000), and scaled to each
window's size by ``sqrt(1/n_window + 1/n_reference)``: the noise of a histogram distance between two
samples shrinks as the square root of their effective size. Below a few hundred rows, bins with well
under one expected value make the true noise smaller than that scaling says, so the scaled threshold
errs high (fewer flags), never low.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Mapping, Sequence
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from modelmon.apps.segments import (
    Segment,
    Segmentation,
    SegmentReport,
    choose_segments,
    escalated_status,
    worst_segments,
)
from modelmon.core.arrays import FloatArray, IntArray
from modelmon.core.results import ModelMonitoringApplicationResult, ResultKindApp
from modelmon.core.results import ResultStatusApp as Status
from modelmon.stats import DriftAssessment, Reference, reference_for, sample_df_stats
from modelmon.stats.distances import Distance
from modelmon.stats.null_threshold import simulate_null_scores

#: Endpoint references whose segment references are kept (an app may serve several endpoints).
_KEPT_ENDPOINTS = 8
#: Window rows the per-segment null quantiles are simulated for (then scaled to each window's size).
BASE_WINDOW = 1000


class SegmentReferences:
    """The segments chosen on the reference rows, and each segment's :class:`Reference` per endpoint."""

    def __init__(self, reference_rows: pd.DataFrame, segment_by: Sequence[str], *, max_segments: int) -> None:
        self.segmentation: Segmentation = choose_segments(reference_rows, segment_by, max_segments=max_segments)
        empty = reference_rows.iloc[:0]
        self._rows = {s.label: s.reference for s in self.segmentation.split(empty, reference_rows)
                      if s.reference is not None}
        self._built: collections.OrderedDict[int, tuple[Reference, dict[str, Reference]]] = \
            collections.OrderedDict()

    def rows(self, label: str) -> int:
        """The number of reference rows of segment ``label``."""
        part = self._rows.get(label)
        return 0 if part is None else len(part)

    def references(self, feature_stats: Mapping[str, Any]) -> dict[str, Reference]:
        """Each segment's reference over the bins of the endpoint's ``feature_stats`` (built once per endpoint).

        The segment columns themselves are left out: within a segment they are constant by construction.
        """
        whole = reference_for(feature_stats)
        kept = self._built.get(id(whole))
        if kept is not None and kept[0] is whole:
            self._built.move_to_end(id(whole))
            return kept[1]
        segment_columns = set(self.segmentation.segment_by)
        stats = {name: entry for name, entry in feature_stats.items() if name not in segment_columns}
        built = {label: Reference(sample_df_stats(rows, stats)) for label, rows in self._rows.items()}
        self._built[id(whole)] = (whole, built)
        while len(self._built) > _KEPT_ENDPOINTS:
            self._built.popitem(last=False)
        return built

    def split(self, window: pd.DataFrame) -> list[Segment]:
        """The window's rows per segment (``reference`` left ``None``: see :meth:`references`)."""
        return self.segmentation.split(window)


def corrected_quantile(quantile: float | None, segments: int) -> float | None:
    """The per-segment null quantile for ``segments`` segments (see the module docstring).

    >>> corrected_quantile(0.99, 5)
    0.998
    """
    if quantile is None or segments <= 1:
        return quantile
    return float(f"{1.0 - (1.0 - quantile) / segments:.12g}")


def tail_quantile(scores: FloatArray, quantile: float) -> FloatArray:
    """Each column's ``quantile`` from its draws: a scaled chi-square fitted to the squared scores.

    >>> rng = np.random.default_rng(0)
    >>> draws = np.sqrt(rng.chisquare(6, size=(2000, 1)))  # the 99.9% quantile is sqrt(22.46) = 4.74
    >>> round(float(tail_quantile(draws, 0.999)[0]), 2)
    4.79
    """
    squared = scores ** 2
    mean, var = squared.mean(axis=0), squared.var(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        nu = np.where(var > 0, 2.0 * mean ** 2 / var, np.inf)
        a = 2.0 / (9.0 * nu)
        ratio = (1.0 - a + NormalDist().inv_cdf(quantile) * np.sqrt(a)) ** 3  # chi2_nu(q) / nu
    out: FloatArray = np.sqrt(np.maximum(ratio, 0.0) * mean)
    return out


def scaled_null_thresholds(reference: Reference, rows: IntArray, n_window: FloatArray, *, metric_name: str,
                           metric: Distance, quantile: float, draws: int, seed: int) -> FloatArray:
    """Null quantiles of reference rows ``rows`` for windows of ``n_window`` values (see the module docstring).

    The quantiles at :data:`BASE_WINDOW` rows are simulated on the first call and kept in ``reference.cache``.
    """
    key = ("segment-null", metric_name, quantile, draws, seed)
    base: FloatArray | None = reference.cache.get(key)
    if base is None:
        n_ref = np.rint(reference.totals).astype(np.int64)
        rng = np.random.default_rng([seed, BASE_WINDOW, len(reference)])
        base = tail_quantile(simulate_null_scores(reference.probs, n_ref, BASE_WINDOW, metric, draws, rng), quantile)
        reference.cache[key] = base
    n_ref = reference.totals[rows]
    window = np.maximum(np.asarray(n_window, dtype=np.float64), 1.0)
    scale = np.sqrt((1.0 / window + 1.0 / n_ref) / (1.0 / BASE_WINDOW + 1.0 / n_ref))
    out: FloatArray = base[rows] * scale
    return out


def with_segment_noise(a: DriftAssessment, reference: Reference, quantile: float, *, metric_name: str,
                       metric: Distance, draws: int, seed: int) -> DriftAssessment:
    """``a`` (assessed without a null quantile) with each scored feature's threshold raised to its scaled noise."""
    rows = np.flatnonzero(a.scored)
    if not rows.size:
        return a
    threshold = a.threshold.copy()
    threshold[rows] = np.maximum(threshold[rows], scaled_null_thresholds(
        reference, rows, a.n_window[rows], metric_name=metric_name, metric=metric, quantile=quantile,
        draws=draws, seed=seed))
    return dataclasses.replace(a, threshold=threshold)


def segment_drift_result(name: str, reports: list[SegmentReport], whole: ModelMonitoringApplicationResult, *,
                         shown: int, extra_data: dict[str, Any]) -> ModelMonitoringApplicationResult:
    """The worst segment's value and status as a result; raises ``whole``'s status when a segment drifts.

    ``whole`` (``drifted_features_share``) is raised to ``potential_detection`` at most and its
    ``extra_data`` names the segment as ``escalated_by_segment``.
    """
    worst = worst_segments(reports, max(shown, 1))
    top = worst[0] if worst else None
    raised = escalated_status(whole.status, reports)
    if raised != whole.status and top is not None:
        whole.status = raised
        whole.extra_data["escalated_by_segment"] = top.label
    value = 0.0 if top is None or np.isnan(top.value) else top.value
    status = top.status if top is not None else Status.irrelevant
    extra = extra_data | {
        "segments": len(reports),
        "worst_segment": top.label if top is not None and top.status > Status.no_detection else None,
        "worst_segments": [r.to_dict() for r in worst[:shown]]}
    return ModelMonitoringApplicationResult(name, value, ResultKindApp.data_drift, status, extra)
