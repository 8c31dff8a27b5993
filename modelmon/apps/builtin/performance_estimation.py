"""``performance-estimation``: a model's performance without labels — a binary classifier's accuracy,
precision, recall, F1 and ROC AUC (CBPE), or a regressor's MAE and RMSE (DLE).

Classification (CBPE, confidence-based performance estimation): the scores are calibrated into
probabilities on a labelled reference (isotonic regression), and each window's expected metrics follow
from them (:mod:`modelmon.stats.cbpe`). Regression (``task="regression"``, DLE, direct loss estimation): a
model of the absolute and squared error, fitted on the reference's inputs and predictions, gives each
window's expected MAE and RMSE (:mod:`modelmon.stats.dle`).

Each metric is a result ``estimated_<metric>`` (kind ``model_performance``) whose ``extra_data`` has the
band ``[lower, upper]`` at ``confidence``, the reference's realized value and the ``drop`` (a score) or
``rise`` (an error). Status: ``detected`` when the reference lies beyond the band on the good side and
the change is at least ``min_drop`` (a score) or ``min_error_rise`` × the reference (an error);
``potential_detection`` when it exceeds one standard deviation and that minimum; else ``no_detection``;
``irrelevant`` without a reference, a score (prediction) column or ``min_rows`` rows.

When the window's labels are known (a label column in the rows, or late labels in ``labels_df``), the
realized value sits next to the estimate in ``extra_data`` and the metrics ``realized_<metric>`` and
``estimation_error_<metric>`` (estimate − realized) are reported, so the estimator is itself monitored.
A realized value outside the band hints at concept drift: ``P(label | score)`` changed, which no
estimate without labels can see (docs/apps.md, "When the estimate is not valid").

With ``segment_by`` (classification) the primary metric (``segment_metric``) is estimated per segment too
(:mod:`modelmon.apps.builtin.estimation_segments`); the worst ``max_segments_in_extra_data`` are listed in
its result and a degraded segment lifts that result to ``potential_detection``.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from modelmon.apps.builtin.estimation_reference import (
    LabelledReference,
    prepare_reference,
    realized_metrics,
    resolve_columns,
    segmentation_for,
)
from modelmon.apps.builtin.estimation_segments import with_segments
from modelmon.apps.builtin.regression_reference import (
    RegressionReference,
    prepare_regression_reference,
    realized_errors,
)
from modelmon.apps.reference_rows import ReferenceFits
from modelmon.apps.sdk import ModelMonitoringApplicationBase, MonitoringApplicationContext
from modelmon.apps.sdk.thresholds import check_threshold
from modelmon.apps.segments import check_segment_by
from modelmon.core.arrays import FloatArray
from modelmon.core.results import ModelMonitoringApplicationMetric, ModelMonitoringApplicationResult, ResultKindApp
from modelmon.core.results import ResultStatusApp as Status
from modelmon.stats import cbpe, dle
from modelmon.stats.cbpe import Estimate, estimate_binary

METRICS = {"classification": cbpe.METRICS, "regression": dle.METRICS}
Reference = LabelledReference | RegressionReference

_PERF = ResultKindApp.model_performance
NO_REFERENCE = "no labelled reference: no reference_data, and the endpoint was registered without reference rows"


def _rounded(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.6g}")


class PerformanceEstimationApplication(ModelMonitoringApplicationBase):
    """Estimated performance of a binary classifier from its scores, or of a regressor from its inputs and
    predictions (see the module docstring).

    :param reference_data: labelled reference rows (score, label, optionally prediction; for regression the
        inputs, prediction and label): a DataFrame or a parquet/CSV path (deployed apps get a path). Without
        it every result is ``irrelevant``.
    :param task: ``"classification"`` (binary, CBPE) or ``"regression"`` (DLE).
    :param score_column: the positive-class score (a probability, or any score when ``calibrate``).
    :param prediction_column: the predicted class; default ``prediction`` when the reference has it, else
        the decision ``score >= threshold``. For regression the predicted value (default ``prediction``).
    :param feature_columns: regression: the inputs the loss model reads (default the reference's numeric
        columns other than the prediction, the label and the bookkeeping columns).
    :param label_column: the true label, in the reference (and in the window's rows or ``labels_df``).
    :param positive_label: the positive class (default 1, else the larger class).
    :param threshold: the decision threshold when there is no prediction column.
    :param metrics: which of accuracy, precision, recall, f1, roc_auc (regression: mae, rmse) to estimate.
    :param calibrate: calibrate the scores on the reference: ``"auto"`` (when it lowers the calibration
        error of held-out reference rows: scores that are already probabilities are kept), True or False.
    :param confidence: coverage of the band (0.95: ∓1.96 standard deviations).
    :param min_drop: the smallest drop of a score below the reference that counts, whatever the band.
    :param min_error_rise: the smallest relative rise of an error (MAE, RMSE) above the reference that counts.
    :param min_rows: fewer rows in the window than this → ``irrelevant``.
    :param segment_by: columns to estimate ``segment_metric`` per segment (at most ``max_segments``).
    """

    NAME = "performance-estimation"

    def __init__(
        self,
        reference_data: pd.DataFrame | str | None = None,
        *,
        task: str = "classification",
        score_column: str = "score",
        prediction_column: str | None = None,
        label_column: str = "label",
        positive_label: Any = None,
        threshold: float = 0.5,
        feature_columns: Sequence[str] | None = None,
        metrics: Sequence[str] | None = None,
        calibrate: bool | str = "auto",
        confidence: float = 0.95,
        min_drop: float = 0.02,
        min_error_rise: float = 0.1,
        min_rows: int = 30,
        segment_by: list[str] | str | None = None,
        max_segments: int = 10,
        segment_metric: str | None = None,
        max_segments_in_extra_data: int = 5,
    ) -> None:
        if task not in METRICS:
            raise ValueError(f"task must be one of {', '.join(METRICS)}, got {task!r}")
        metrics = METRICS[task] if metrics is None else metrics
        unknown = [m for m in metrics if m not in METRICS[task]]
        if unknown or not metrics:
            raise ValueError(f"metrics must be a non-empty subset of {list(METRICS[task])} for {task}, "
                             f"got {list(metrics)!r}")
        segment_metric = segment_metric or metrics[0]
        if segment_metric not in metrics:
            raise ValueError(f"segment_metric {segment_metric!r} must be one of the estimated metrics {list(metrics)}")
        if calibrate not in (True, False, "auto"):
            raise ValueError(f"calibrate must be True, False or 'auto', got {calibrate!r}")
        if not 0.5 <= confidence < 1:
            raise ValueError(f"confidence must be in [0.5, 1), got {confidence!r}")
        check_threshold("min_drop", min_drop, minimum=0.0)
        check_threshold("min_error_rise", min_error_rise, minimum=0.0)
        check_threshold("threshold", threshold)
        if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 2:
            raise ValueError(f"min_rows must be an integer of at least 2, got {min_rows!r}")
        self.reference_data = reference_data
        self.metrics = tuple(metrics)
        self.confidence = confidence
        self.z = statistics.NormalDist().inv_cdf(0.5 + confidence / 2)
        self.task = task
        self.min_drop = min_drop
        self.min_error_rise = min_error_rise
        self.min_rows = min_rows
        self.segment_metric = segment_metric
        self.max_segments_in_extra_data = max_segments_in_extra_data
        if segment_by is not None:
            if task == "regression":
                raise ValueError("segment_by is for classification only")
            check_segment_by(segment_by)

        def prepare(frame: pd.DataFrame) -> Reference:
            if task == "regression":
                return prepare_regression_reference(frame, prediction=prediction_column, label=label_column,
                                                    features=feature_columns)
            columns = resolve_columns(frame, score=score_column, prediction=prediction_column, label=label_column,
                                      positive=positive_label, threshold=threshold)
            return prepare_reference(frame, columns, calibrate=calibrate,
                                     segmentation=segmentation_for(frame, segment_by, max_segments))

        # reference_data when given; else each endpoint's reference rows kept at registration
        self._fits: ReferenceFits[Reference] = ReferenceFits(reference_data, prepare)

    @property
    def reference(self) -> Reference | None:
        """What was prepared from ``reference_data`` (calibrator or loss model, realized metrics), else ``None``."""
        return self._fits.given

    def do_tracking(self, monitoring_context: MonitoringApplicationContext) -> list[Any]:
        """The window's estimated metrics (and realized ones and the estimation error when labels exist)."""
        fitted = self._fits.get(monitoring_context)
        reference = fitted.value
        if reference is None:
            why = NO_REFERENCE if fitted.problem is None else f"the endpoint's reference rows: {fitted.problem}"
            return [_irrelevant(f"estimated_{m}", why) for m in self.metrics]
        if isinstance(reference, RegressionReference):
            return self._track_regression(monitoring_context, reference)
        rows = monitoring_context.sample_df
        reason = self._unusable(reference, rows)
        if reason is not None:
            return [_irrelevant(f"estimated_{m}", reason) for m in self.metrics]
        columns = reference.columns
        rows = rows[np.isfinite(_numbers(rows[columns.score]))].reset_index(drop=True)
        scores = _numbers(rows[columns.score])
        decided = columns.decisions(rows)
        p, blocks, block_variance = reference.probabilities(scores)
        estimates = estimate_binary(p, decided, scores, blocks=blocks, block_variance=block_variance)
        truth = self._truth(monitoring_context, rows, columns.label)
        labelled = truth.notna().to_numpy()
        realized = realized_metrics(columns.outcomes(pd.DataFrame({columns.label: truth[labelled]})),
                                    decided[labelled], scores[labelled]) if labelled.any() else {}
        outputs = self._outputs(estimates, reference.metrics, len(rows), realized, int(labelled.sum()),
                                reference.calibrated)
        if reference.segmentation is not None:
            i = next(i for i, o in enumerate(outputs) if o.name == f"estimated_{self.segment_metric}")
            outputs[i] = with_segments(outputs[i], reference, rows, (p, blocks, decided, scores),
                                       metric=self.segment_metric, min_rows=self.min_rows,
                                       worst=self.max_segments_in_extra_data,
                                       status_of=lambda e, r: self._status(self.segment_metric, e, r))
        return outputs

    def _track_regression(self, context: MonitoringApplicationContext, reference: RegressionReference) -> list[Any]:
        rows = context.sample_df
        if reference.prediction not in rows.columns:
            reason = f"the window has no prediction column {reference.prediction!r}"
            return [_irrelevant(f"estimated_{m}", reason) for m in self.metrics]
        rows = rows[pd.to_numeric(rows[reference.prediction], errors="coerce").notna()].reset_index(drop=True)
        if len(rows) < self.min_rows:
            reason = f"{len(rows)} rows with a prediction (need {self.min_rows})"
            return [_irrelevant(f"estimated_{m}", reason) for m in self.metrics]
        estimates = reference.model.estimate(reference.inputs(rows))
        truth = pd.to_numeric(self._truth(context, rows, reference.label), errors="coerce")
        labelled = truth.notna().to_numpy()
        predicted = pd.to_numeric(rows[reference.prediction]).to_numpy(dtype=np.float64)
        realized = realized_errors(truth[labelled].to_numpy(dtype=np.float64), predicted[labelled]) \
            if labelled.any() else {}
        return self._outputs(estimates, reference.metrics, len(rows), realized, int(labelled.sum()), None)

    def _outputs(self, estimates: dict[str, Estimate], references: dict[str, float | None], rows: int,
                 realized: dict[str, float | None], labelled: int, calibrated: bool | None) -> list[Any]:
        """The results of the estimated metrics, and the metrics of rows, labels and the estimation error."""
        outputs: list[Any] = [ModelMonitoringApplicationMetric("rows", rows)]
        if labelled:
            outputs.append(ModelMonitoringApplicationMetric("labeled_rows", labelled))
        for name in self.metrics:
            outputs.append(self._judge(name, estimates[name], references.get(name), rows, realized.get(name),
                                       labelled, calibrated))
            value, estimated = realized.get(name), estimates[name].value
            if value is not None and estimated is not None:
                outputs.append(ModelMonitoringApplicationMetric(f"realized_{name}", value))
                outputs.append(ModelMonitoringApplicationMetric(f"estimation_error_{name}", estimated - value))
        return outputs

    def _unusable(self, reference: LabelledReference, rows: pd.DataFrame) -> str | None:
        if reference.columns.score not in rows.columns:
            return f"the window has no score column {reference.columns.score!r}"
        count = int(np.isfinite(_numbers(rows[reference.columns.score])).sum())
        if count < self.min_rows:
            return f"{count} rows with a score (need {self.min_rows})"
        return None

    def _truth(self, context: MonitoringApplicationContext, rows: pd.DataFrame, label: str) -> pd.Series:
        """Each row's label when known (NaN otherwise): from the rows, else ``labels_df`` by ``request_id``."""
        if label in rows.columns:
            return rows[label]
        labels = context.labels_df
        if label not in labels.columns or "request_id" not in labels.columns or "request_id" not in rows.columns:
            return pd.Series(np.nan, index=rows.index, dtype=object)
        known = labels[["request_id", label]].drop_duplicates("request_id", keep="last").set_index("request_id")
        return rows["request_id"].map(known[label])

    def _status(self, name: str, estimate: Estimate, reference: float) -> Status:
        """``detected`` when the reference is beyond the band on the good side, ``potential_detection`` when the
        change exceeds one standard deviation; a change under ``min_drop`` (``min_error_rise``) is never one."""
        band = estimate.band(self.z)
        if band is None or estimate.value is None:
            return Status.no_detection
        if name in cbpe.METRICS:
            worse, least, beyond = reference - estimate.value, self.min_drop, reference > band[1]
        else:
            worse, least, beyond = estimate.value - reference, self.min_error_rise * reference, reference < band[0]
        if worse <= 0 or worse < least:
            return Status.no_detection
        if beyond:
            return Status.detected
        return Status.potential_detection if worse > estimate.std else Status.no_detection

    def _judge(self, name: str, estimate: Estimate, reference: float | None, rows: int,
               realized: float | None, labelled: int, calibrated: bool | None) -> ModelMonitoringApplicationResult:
        if estimate.value is None:
            return _irrelevant(f"estimated_{name}", "undefined for this window (e.g. no predicted positive)")
        lower, upper = estimate.band(self.z) or (estimate.value, estimate.value)
        extra: dict[str, Any] = {
            "estimate": _rounded(estimate.value), "lower": _rounded(lower), "upper": _rounded(upper),
            "confidence": self.confidence, "sampling_std": _rounded(estimate.sampling_std),
            "calibration_std": _rounded(estimate.calibration_std), "rows": rows,
            "reference": _rounded(reference)}
        if name in cbpe.METRICS:
            extra.update(min_drop=self.min_drop, calibrated=calibrated)
        else:
            extra["min_error_rise"] = self.min_error_rise
        if realized is not None:
            extra.update(realized=_rounded(realized), labeled_rows=labelled,
                         estimation_error=_rounded(estimate.value - realized),
                         realized_within_band=bool(lower <= realized <= upper))
        if reference is None:
            extra["reason"] = "undefined on the reference"
            return ModelMonitoringApplicationResult(f"estimated_{name}", estimate.value, _PERF, Status.irrelevant,
                                                    extra)
        if name in cbpe.METRICS:
            extra["drop"] = _rounded(reference - estimate.value)
        else:
            extra["rise"] = _rounded(estimate.value - reference)
        return ModelMonitoringApplicationResult(f"estimated_{name}", estimate.value, _PERF,
                                                self._status(name, estimate, reference), extra)


def _numbers(column: pd.Series) -> FloatArray:
    """A score column as floats: text, missing values and infinities are NaN (not scored)."""
    values: FloatArray = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
    values[~np.isfinite(values)] = np.nan
    return values


def _irrelevant(name: str, reason: str) -> ModelMonitoringApplicationResult:
    return ModelMonitoringApplicationResult(name, 0.0, _PERF, Status.irrelevant, {"reason": reason})
