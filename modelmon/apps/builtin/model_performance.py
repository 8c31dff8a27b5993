"""``model-performance``: accuracy/F1/ROC AUC or MAE/RMSE/R² on labelled rows, and concept drift."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from modelmon.apps.builtin import performance_metrics as pm
from modelmon.apps.builtin.input_drift import max_tvd
from modelmon.apps.sdk import ModelMonitoringApplicationBase, MonitoringApplicationContext
from modelmon.apps.sdk.thresholds import Thresholds, thresholds
from modelmon.core.results import ModelMonitoringApplicationMetric, ModelMonitoringApplicationResult, ResultKindApp
from modelmon.core.results import ResultStatusApp as Status

TASKS = ("auto", "classification", "regression")
_PERF = ResultKindApp.model_performance


class ModelPerformanceApplication(ModelMonitoringApplicationBase):
    """How right the model was in the window, where ground-truth labels are known.

    Labels come from ``monitoring_context.labels_df`` joined on ``request_id`` (or from a label column
    already in the window's rows). Classification gives ``accuracy``, ``f1`` and, with a score column
    and two classes, ``roc_auc``; regression gives ``mae``, ``rmse`` and ``r2`` (all kind
    ``model_performance``, the value being the window's metric). Each is compared with the endpoint's
    ``reference_performance`` (same metric names): a drop of a score (absolute) or a relative rise of
    an error beyond the thresholds is a potential/confirmed detection; no reference → ``irrelevant``.

    ``concept_drift`` (kind ``concept_drift``) reports the worst degradation when the inputs did not
    drift: inputs are judged drifted when ``inputs_drifted`` says so, or else when the largest per-feature
    TVD between the window's and the reference's histograms exceeds ``input_drift_threshold``. When
    that cannot be judged (no reference histograms), concept drift is at most a potential detection.
    Without labels, or with fewer than ``min_labeled_rows``, every result is ``irrelevant``.

    :param task: "classification", "regression" or "auto" (from the reference metrics, else the labels).
    :param prediction_column: the model output to judge; default the first of the endpoint's
        ``label_names`` found in the rows, else ``prediction``.
    :param label_column: the ground-truth column in ``labels_df`` (or in the rows).
    :param score_column: positive-class score for ROC AUC; default ``score`` when present.
    :param positive_label: the positive class (default 1/True, else the larger class).
    :param score_drop_thresholds: ``(potential, detected)`` absolute drop of accuracy/F1/ROC AUC/R².
    :param error_rise_thresholds: ``(potential, detected)`` relative rise of MAE/RMSE (0.1 = +10%).
    """

    NAME = "model-performance"

    def __init__(
        self,
        *,
        task: str = "auto",
        prediction_column: str | None = None,
        label_column: str = "label",
        score_column: str | None = None,
        positive_label: Any = None,
        min_labeled_rows: int = 10,
        score_drop_thresholds: Thresholds | tuple[float, float] = (0.05, 0.1),
        error_rise_thresholds: Thresholds | tuple[float, float] = (0.1, 0.25),
        input_drift_threshold: float = 0.2,
        inputs_drifted: bool | None = None,
    ) -> None:
        if task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
        if min_labeled_rows < 1:
            raise ValueError(f"min_labeled_rows must be at least 1, got {min_labeled_rows!r}")
        self.task = task
        self.prediction_column = prediction_column
        self.label_column = label_column
        self.score_column = score_column
        self.positive_label = positive_label
        self.min_labeled_rows = min_labeled_rows
        self.score_drop_thresholds = thresholds(score_drop_thresholds)
        self.error_rise_thresholds = thresholds(error_rise_thresholds)
        self.input_drift_threshold = input_drift_threshold
        self.inputs_drifted = inputs_drifted

    def do_tracking(self, monitoring_context: MonitoringApplicationContext) -> list[Any]:
        """Performance results for the labelled rows of the window, and the concept-drift verdict."""
        reference = _reference_performance(monitoring_context.model_endpoint)
        labelled = self._labelled_rows(monitoring_context)
        task = self._task(reference, labelled)
        count = ModelMonitoringApplicationMetric("labeled_rows", len(labelled))
        if len(labelled) < self.min_labeled_rows or task is None:
            reason = f"{len(labelled)} labelled rows (need {self.min_labeled_rows})"
            names = pm.CLASSIFICATION_METRICS if task == "classification" else (
                pm.REGRESSION_METRICS if task == "regression" else ())
            irrelevant = [_irrelevant(name, _PERF, reason) for name in names]
            return [*irrelevant, _irrelevant("concept_drift", ResultKindApp.concept_drift, reason), count]
        values = self._metrics(task, labelled)
        results = [self._judge(name, value, reference.get(name), len(labelled)) for name, value in values.items()]
        return [*results, self._concept_drift(monitoring_context, results), count]

    def _labelled_rows(self, context: MonitoringApplicationContext) -> pd.DataFrame:
        """``truth``, ``prediction`` (and ``score``) of the window's rows that have a label."""
        rows = context.sample_df
        prediction = self.prediction_column or next(
            (name for name in context.label_names if name in rows.columns), "prediction")
        score = self.score_column or ("score" if "score" in rows.columns else None)
        if prediction not in rows.columns:
            return pd.DataFrame(columns=["truth", "prediction", "score"])
        wanted = {prediction: "prediction", **({score: "score"} if score in rows.columns else {})}
        if self.label_column in rows.columns:
            joined = rows[[self.label_column, *wanted]].rename(columns={self.label_column: "truth", **wanted})
        else:
            labels = context.labels_df
            if self.label_column not in labels.columns or "request_id" not in labels.columns \
                    or "request_id" not in rows.columns:
                return pd.DataFrame(columns=["truth", "prediction", "score"])
            truth = labels[["request_id", self.label_column]].drop_duplicates("request_id", keep="last")
            joined = rows[["request_id", *wanted]].rename(columns=wanted).merge(
                truth.rename(columns={self.label_column: "truth"}), on="request_id", how="inner")
        return joined.dropna(subset=["truth", "prediction"])

    def _task(self, reference: dict[str, float], labelled: pd.DataFrame) -> str | None:
        if self.task != "auto":
            return self.task
        if any(name in reference for name in pm.CLASSIFICATION_METRICS):
            return "classification"
        if any(name in reference for name in pm.REGRESSION_METRICS):
            return "regression"
        if labelled.empty:
            return None
        truth = labelled["truth"]
        if not pd.api.types.is_float_dtype(truth):
            return "classification"
        values = truth.to_numpy(dtype=float)
        return "classification" if np.all(values == np.round(values)) and truth.nunique() <= 20 else "regression"

    def _metrics(self, task: str, labelled: pd.DataFrame) -> dict[str, float | None]:
        truth, prediction = labelled["truth"].to_numpy(), labelled["prediction"].to_numpy()
        if task == "regression":
            truth, prediction = truth.astype(float), prediction.astype(float)
            return {"mae": pm.mae(truth, prediction), "rmse": pm.rmse(truth, prediction),
                    "r2": pm.r2(truth, prediction)}
        values: dict[str, float | None] = {"accuracy": pm.accuracy(truth, prediction),
                                           "f1": pm.f1(truth, prediction, self.positive_label)}
        if "score" in labelled.columns and len(np.unique(truth)) <= 2:
            positive = self.positive_label
            if positive is None:
                classes = np.unique(truth)
                positive = 1 if np.any(classes == 1) else classes[-1]
            values["roc_auc"] = pm.roc_auc(truth == positive, labelled["score"].to_numpy(dtype=float))
        return values

    def _judge(self, name: str, value: float | None, reference: float | None, rows: int
               ) -> ModelMonitoringApplicationResult:
        """The metric's result, with its degradation against the reference performance."""
        if value is None:
            return _irrelevant(name, _PERF, "undefined for this window (a single class or constant labels)")
        extra: dict[str, Any] = {"labeled_rows": rows, "reference": reference}
        if reference is None:
            extra["reason"] = "no reference performance for this metric"
            return ModelMonitoringApplicationResult(name, value, _PERF, Status.irrelevant, extra)
        if pm.HIGHER_IS_BETTER[name]:
            degradation, limits = reference - value, self.score_drop_thresholds
        else:
            degradation = (value - reference) / reference if reference > 0 else value - reference
            limits = self.error_rise_thresholds
        extra.update(degradation=degradation, thresholds=limits.to_dict())
        return ModelMonitoringApplicationResult(name, value, _PERF, limits.status(degradation), extra)

    def _concept_drift(self, context: MonitoringApplicationContext, results: list[ModelMonitoringApplicationResult]
                       ) -> ModelMonitoringApplicationResult:
        judged = [r for r in results if r.status != Status.irrelevant]
        if not judged:
            return _irrelevant("concept_drift", ResultKindApp.concept_drift, "no reference performance to compare")
        worst = max(judged, key=lambda r: (r.status, r.extra_data["degradation"]))
        tvd = max_tvd(context.sample_df_stats, context.feature_stats) if context.feature_stats else None
        drifted = self.inputs_drifted if self.inputs_drifted is not None else (
            None if tvd is None else tvd > self.input_drift_threshold)
        status = worst.status
        if drifted:
            status = Status.no_detection  # the drop is explained by input drift (a data-drift app reports it)
        elif drifted is None:
            status = min(status, Status.potential_detection)
        extra = {"metric": worst.name, "inputs_drifted": drifted, "max_input_tvd": tvd,
                 "degraded_metrics": sorted(r.name for r in judged if r.status >= Status.potential_detection)}
        return ModelMonitoringApplicationResult("concept_drift", max(worst.extra_data["degradation"], 0.0),
                                                ResultKindApp.concept_drift, status, extra)


def _irrelevant(name: str, kind: ResultKindApp, reason: str) -> ModelMonitoringApplicationResult:
    return ModelMonitoringApplicationResult(name, 0.0, kind, Status.irrelevant, {"reason": reason})


def _reference_performance(endpoint: dict[str, Any]) -> dict[str, float]:
    """The endpoint's ``reference_performance`` (a dict, or JSON text as KV stores it)."""
    value = endpoint.get("reference_performance") or {}
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, dict):
        raise ValueError(f"reference_performance must be a dict of metric -> value, got {type(value).__name__}")
    return {str(k).lower(): float(v) for k, v in value.items() if str(k).lower() in pm.HIGHER_IS_BETTER}
