"""``performance-estimation``: a binary classifier's accuracy, precision, recall, F1 and ROC AUC, without labels.

CBPE (confidence-based performance estimation): the scores are calibrated into probabilities on a
labelled reference (isotonic regression), and each window's expected metrics follow from them
(:mod:`modelmon.stats.cbpe`). Each metric is a result ``estimated_<metric>`` (kind ``model_performance``)
whose ``extra_data`` has the band ``[lower, upper]`` at ``confidence``, the reference's realized value and
the drop. Status: ``detected`` when the reference lies above the band (the drop exceeds ``z`` standard
deviations) and the drop is at least ``min_drop``; ``potential_detection`` when it exceeds one standard
deviation and ``min_drop``; else ``no_detection``; ``irrelevant`` without a reference, a score column or
``min_rows`` rows.

When the window's labels are known (a label column in the rows, or late labels in ``labels_df``), the
realized value sits next to the estimate in ``extra_data`` and the metrics ``realized_<metric>`` and
``estimation_error_<metric>`` (estimate − realized) are reported, so the estimator is itself monitored.
A realized value outside the band hints at concept drift: ``P(label | score)`` changed, which no
estimate without labels can see (docs/apps.md, "When the estimate is not valid").

With ``segment_by`` the primary metric (``segment_metric``) is estimated per segment too
(:mod:`modelmon.apps.segments`); the worst ``max_segments_in_extra_data`` are listed in its result and a
degraded segment lifts that result to ``potential_detection``.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from modelmon.apps.builtin.estimation_reference import (
    LabelledReference,
    load_reference,
    prepare_reference,
    realized_metrics,
    resolve_columns,
    segmentation_for,
)
from modelmon.apps.sdk import ModelMonitoringApplicationBase, MonitoringApplicationContext
from modelmon.apps.sdk.thresholds import check_threshold
from modelmon.apps.segments import OTHER, SegmentReport, escalated_status, worst_segments
from modelmon.core.arrays import BoolArray, FloatArray, IntArray
from modelmon.core.results import ModelMonitoringApplicationMetric, ModelMonitoringApplicationResult, ResultKindApp
from modelmon.core.results import ResultStatusApp as Status
from modelmon.stats.cbpe import METRICS, Estimate, estimate_binary

_PERF = ResultKindApp.model_performance
NO_REFERENCE = "no labelled reference_data"


def _rounded(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.6g}")


class PerformanceEstimationApplication(ModelMonitoringApplicationBase):
    """Estimated performance of a binary classifier from its scores (see the module docstring).

    :param reference_data: labelled reference rows (score, label, optionally prediction): a DataFrame or a
        parquet/CSV path (deployed apps get a path). Without it every result is ``irrelevant``.
    :param score_column: the positive-class score (a probability, or any score when ``calibrate``).
    :param prediction_column: the predicted class; default ``prediction`` when the reference has it, else
        the decision ``score >= threshold``.
    :param label_column: the true label, in the reference (and in the window's rows or ``labels_df``).
    :param positive_label: the positive class (default 1, else the larger class).
    :param threshold: the decision threshold when there is no prediction column.
    :param metrics: which of accuracy, precision, recall, f1, roc_auc to estimate.
    :param calibrate: calibrate the scores on the reference: ``"auto"`` (when it lowers the calibration
        error of held-out reference rows: scores that are already probabilities are kept), True or False.
    :param confidence: coverage of the band (0.95: ∓1.96 standard deviations).
    :param min_drop: the smallest drop below the reference that counts, whatever the band.
    :param min_rows: fewer rows in the window than this → ``irrelevant``.
    :param segment_by: columns to estimate ``segment_metric`` per segment (at most ``max_segments``).
    """

    NAME = "performance-estimation"

    def __init__(
        self,
        reference_data: pd.DataFrame | str | None = None,
        *,
        score_column: str = "score",
        prediction_column: str | None = None,
        label_column: str = "label",
        positive_label: Any = None,
        threshold: float = 0.5,
        metrics: Sequence[str] = METRICS,
        calibrate: bool | str = "auto",
        confidence: float = 0.95,
        min_drop: float = 0.02,
        min_rows: int = 30,
        segment_by: list[str] | str | None = None,
        max_segments: int = 10,
        segment_metric: str = "accuracy",
        max_segments_in_extra_data: int = 5,
    ) -> None:
        unknown = [m for m in metrics if m not in METRICS]
        if unknown or not metrics:
            raise ValueError(f"metrics must be a non-empty subset of {list(METRICS)}, got {list(metrics)!r}")
        if segment_metric not in metrics:
            raise ValueError(f"segment_metric {segment_metric!r} must be one of the estimated metrics {list(metrics)}")
        if calibrate not in (True, False, "auto"):
            raise ValueError(f"calibrate must be True, False or 'auto', got {calibrate!r}")
        if not 0.5 <= confidence < 1:
            raise ValueError(f"confidence must be in [0.5, 1), got {confidence!r}")
        check_threshold("min_drop", min_drop, minimum=0.0)
        check_threshold("threshold", threshold)
        if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 2:
            raise ValueError(f"min_rows must be an integer of at least 2, got {min_rows!r}")
        self.reference_data = reference_data
        self.metrics = tuple(metrics)
        self.confidence = confidence
        self.z = statistics.NormalDist().inv_cdf(0.5 + confidence / 2)
        self.min_drop = min_drop
        self.min_rows = min_rows
        self.segment_metric = segment_metric
        self.max_segments_in_extra_data = max_segments_in_extra_data
        self._prediction_column = prediction_column
        frame = load_reference(reference_data)
        self._reference: LabelledReference | None = None
        if frame is not None:
            columns = resolve_columns(frame, score=score_column, prediction=prediction_column, label=label_column,
                                      positive=positive_label, threshold=threshold)
            self._reference = prepare_reference(
                frame, columns, calibrate=calibrate, segmentation=segmentation_for(frame, segment_by, max_segments))
        elif segment_by is not None:
            raise ValueError("segment_by needs reference_data (segments are chosen on the reference)")

    @property
    def reference(self) -> LabelledReference | None:
        """The prepared reference (calibrators and realized metrics), ``None`` without reference data."""
        return self._reference

    def do_tracking(self, monitoring_context: MonitoringApplicationContext) -> list[Any]:
        """The window's estimated metrics (and realized ones and the estimation error when labels exist)."""
        reference = self._reference
        rows = monitoring_context.sample_df
        reason = self._unusable(reference, rows)
        if reason is not None or reference is None:
            return [_irrelevant(f"estimated_{m}", reason or NO_REFERENCE) for m in self.metrics]
        columns = reference.columns
        rows = rows[rows[columns.score].notna()].reset_index(drop=True)
        scores = pd.to_numeric(rows[columns.score], errors="coerce").to_numpy(dtype=np.float64)
        decided = columns.decisions(rows)
        p, blocks, block_variance = reference.probabilities(scores)
        estimates = estimate_binary(p, decided, scores, blocks=blocks, block_variance=block_variance)
        truth = self._truth(monitoring_context, rows)
        labelled = truth.notna().to_numpy()
        realized = realized_metrics(columns.outcomes(pd.DataFrame({columns.label: truth[labelled]})),
                                    decided[labelled], scores[labelled]) if labelled.any() else {}
        outputs: list[Any] = [ModelMonitoringApplicationMetric("rows", len(rows))]
        if labelled.any():
            outputs.append(ModelMonitoringApplicationMetric("labeled_rows", int(labelled.sum())))
        for name in self.metrics:
            result = self._judge(name, estimates[name], reference.metrics.get(name), len(rows),
                                 realized.get(name), int(labelled.sum()))
            if name == self.segment_metric and reference.segmentation is not None:
                result = self._with_segments(result, reference, rows, (p, blocks, decided, scores))
            outputs.append(result)
            value, estimated = realized.get(name), estimates[name].value
            if value is not None and estimated is not None:
                outputs.append(ModelMonitoringApplicationMetric(f"realized_{name}", value))
                outputs.append(ModelMonitoringApplicationMetric(f"estimation_error_{name}", estimated - value))
        return outputs

    def _unusable(self, reference: LabelledReference | None, rows: pd.DataFrame) -> str | None:
        if reference is None:
            return NO_REFERENCE
        if reference.columns.score not in rows.columns:
            return f"the window has no score column {reference.columns.score!r}"
        count = int(rows[reference.columns.score].notna().sum())
        if count < self.min_rows:
            return f"{count} rows with a score (need {self.min_rows})"
        return None

    def _truth(self, context: MonitoringApplicationContext, rows: pd.DataFrame) -> pd.Series:
        """Each row's label when known (NaN otherwise): from the rows, else ``labels_df`` by ``request_id``."""
        label = self._reference.columns.label if self._reference else "label"
        if label in rows.columns:
            return rows[label]
        labels = context.labels_df
        if label not in labels.columns or "request_id" not in labels.columns or "request_id" not in rows.columns:
            return pd.Series(np.nan, index=rows.index, dtype=object)
        known = labels[["request_id", label]].drop_duplicates("request_id", keep="last").set_index("request_id")
        return rows["request_id"].map(known[label])

    def _status(self, estimate: Estimate, reference: float) -> Status:
        """``detected`` when the reference is above the band, ``potential_detection`` when the drop exceeds
        one standard deviation; a drop under ``min_drop`` is never one."""
        drop = reference - (estimate.value or 0.0)
        band = estimate.band(self.z)
        if band is None or drop < self.min_drop or drop <= 0:
            return Status.no_detection
        if reference > band[1]:
            return Status.detected
        return Status.potential_detection if drop > estimate.std else Status.no_detection

    def _judge(self, name: str, estimate: Estimate, reference: float | None, rows: int,
               realized: float | None, labelled: int) -> ModelMonitoringApplicationResult:
        if estimate.value is None:
            return _irrelevant(f"estimated_{name}", "undefined for this window (e.g. no predicted positive)")
        lower, upper = estimate.band(self.z) or (estimate.value, estimate.value)
        extra: dict[str, Any] = {
            "estimate": _rounded(estimate.value), "lower": _rounded(lower), "upper": _rounded(upper),
            "confidence": self.confidence, "sampling_std": _rounded(estimate.sampling_std),
            "calibration_std": _rounded(estimate.calibration_std), "rows": rows,
            "reference": _rounded(reference), "min_drop": self.min_drop,
            "calibrated": bool(self._reference and self._reference.calibrated)}
        if realized is not None:
            extra.update(realized=_rounded(realized), labeled_rows=labelled,
                         estimation_error=_rounded(estimate.value - realized),
                         realized_within_band=bool(lower <= realized <= upper))
        if reference is None:
            extra["reason"] = "undefined on the reference"
            return ModelMonitoringApplicationResult(f"estimated_{name}", estimate.value, _PERF, Status.irrelevant,
                                                    extra)
        drop = reference - estimate.value
        extra["drop"] = _rounded(drop)
        return ModelMonitoringApplicationResult(f"estimated_{name}", estimate.value, _PERF,
                                                self._status(estimate, reference), extra)

    def _with_segments(self, result: ModelMonitoringApplicationResult, reference: LabelledReference,
                       rows: pd.DataFrame, window: tuple[FloatArray, IntArray, BoolArray, FloatArray]
                       ) -> ModelMonitoringApplicationResult:
        """``result`` with the worst segments of the window listed and its status escalated by them."""
        assert reference.segmentation is not None
        p, blocks, decided, scores = window
        block_variance = reference.calibrator.block_variance
        try:
            labels = reference.segmentation.assign(rows).to_numpy()
        except ValueError as exc:  # a segment_by column missing from the window
            result.extra_data["segments_error"] = str(exc)
            return result
        reports = []
        for label in [*reference.segmentation.labels, OTHER]:
            mask = labels == label
            ref_value = reference.segment_metrics.get(label, {}).get(self.segment_metric)
            n = int(mask.sum())
            if n < self.min_rows or ref_value is None:
                if n:
                    reports.append(SegmentReport(label, Status.irrelevant, math.nan, n,
                                                 note=f"{n} rows (need {self.min_rows})" if ref_value is not None
                                                 else "not in the reference"))
                continue
            estimate = estimate_binary(p[mask], decided[mask], scores[mask], blocks=blocks[mask],
                                       block_variance=block_variance)[self.segment_metric]
            if estimate.value is None:
                continue
            drop = ref_value - estimate.value
            reports.append(SegmentReport(label, self._status(estimate, ref_value), drop, n, details={
                "estimate": _rounded(estimate.value), "reference": _rounded(ref_value),
                "std": _rounded(estimate.std)}))
        worst = worst_segments(reports, self.max_segments_in_extra_data)
        extra = {**result.extra_data, "worst_segments": [r.to_dict() for r in worst],
                 "segments": len(reports)}
        status = escalated_status(result.status, reports)
        return ModelMonitoringApplicationResult(result.name, result.value, _PERF, status, extra)


def _irrelevant(name: str, reason: str) -> ModelMonitoringApplicationResult:
    return ModelMonitoringApplicationResult(name, 0.0, _PERF, Status.irrelevant, {"reason": reason})
