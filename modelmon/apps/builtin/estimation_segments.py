"""``performance-estimation`` per segment: a classifier's estimated metric in each segment of the window
against the same segment of the reference (:mod:`modelmon.apps.segments`)."""

from __future__ import annotations

import math
from collections.abc import Callable

import pandas as pd

from modelmon.apps.builtin.estimation_reference import LabelledReference
from modelmon.apps.segments import OTHER, SegmentReport, escalated_status, worst_segments
from modelmon.core.arrays import BoolArray, FloatArray, IntArray
from modelmon.core.results import ModelMonitoringApplicationResult
from modelmon.core.results import ResultStatusApp as Status
from modelmon.stats.cbpe import Estimate, estimate_binary

Window = tuple[FloatArray, IntArray, BoolArray, FloatArray]  #: probabilities, blocks, decisions, scores


def with_segments(result: ModelMonitoringApplicationResult, reference: LabelledReference, rows: pd.DataFrame,
                  window: Window, *, metric: str, min_rows: int, worst: int,
                  status_of: Callable[[Estimate, float], Status]) -> ModelMonitoringApplicationResult:
    """``result`` with the ``worst`` segments of the window listed and its status escalated by them.

    A segment with fewer than ``min_rows`` rows, or absent from the reference, is ``irrelevant``.
    """
    assert reference.segmentation is not None, "only called with segment_by"
    p, blocks, decided, scores = window
    try:
        labels = reference.segmentation.assign(rows).to_numpy()
    except ValueError as exc:  # a segment_by column missing from the window
        result.extra_data["segments_error"] = str(exc)
        return result
    reports = []
    for label in [*reference.segmentation.labels, OTHER]:
        mask = labels == label
        ref_value = reference.segment_metrics.get(label, {}).get(metric)
        n = int(mask.sum())
        if n < min_rows or ref_value is None:
            if n:
                reports.append(SegmentReport(label, Status.irrelevant, math.nan, n,
                                             note=f"{n} rows (need {min_rows})" if ref_value is not None
                                             else "not in the reference"))
            continue
        estimate = estimate_binary(p[mask], decided[mask], scores[mask], blocks=blocks[mask],
                                   block_variance=reference.calibrator.block_variance)[metric]
        if estimate.value is None:
            continue
        reports.append(SegmentReport(label, status_of(estimate, ref_value), ref_value - estimate.value, n, details={
            "estimate": _rounded(estimate.value), "reference": _rounded(ref_value), "std": _rounded(estimate.std)}))
    extra = {**result.extra_data, "worst_segments": [r.to_dict() for r in worst_segments(reports, worst)],
             "segments": len(reports)}
    return ModelMonitoringApplicationResult(result.name, result.value, result.kind,
                                            escalated_status(result.status, reports), extra)


def _rounded(value: float) -> float:
    return float(f"{value:.6g}")
