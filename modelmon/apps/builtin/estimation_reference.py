"""The labelled reference of ``performance-estimation``: its columns, calibrators and realized metrics.

Prepared once when the app is built, so each window only applies the calibrators. The reference rows
carry the model's positive-class score, optionally its predicted class, and the true label.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from modelmon.apps.segments import Segmentation, choose_segments
from modelmon.core.arrays import BoolArray, FloatArray, IntArray
from modelmon.stats.calibration import IsotonicCalibrator, calibration_helps, expected_calibration_error
from modelmon.stats.cbpe import METRICS, expected_metrics


@dataclasses.dataclass(frozen=True)
class Columns:
    """Which columns hold the score, the predicted class (``None``: decide ``score >= threshold``) and the label."""

    score: str
    prediction: str | None
    label: str
    positive: Any
    threshold: float

    def decisions(self, rows: pd.DataFrame) -> BoolArray:
        """Whether the model predicted the positive class for each row."""
        if self.prediction is not None and self.prediction in rows.columns:
            decided: BoolArray = (rows[self.prediction] == self.positive).to_numpy(dtype=bool)
            return decided
        scores = rows[self.score].to_numpy(dtype=np.float64)
        return np.asarray(scores >= self.threshold, dtype=bool)

    def outcomes(self, rows: pd.DataFrame) -> BoolArray:
        outcomes: BoolArray = (rows[self.label] == self.positive).to_numpy(dtype=bool)
        return outcomes


@dataclasses.dataclass(frozen=True)
class LabelledReference:
    """What every window is compared with (see :func:`prepare_reference`)."""

    columns: Columns
    calibrator: IsotonicCalibrator  #: fitted on the reference (its blocks measure the calibration's uncertainty)
    calibrated: bool  #: whether the scores go through ``calibrator`` (else they are taken as probabilities)
    metrics: dict[str, float | None]  #: realized on the reference
    rows: int
    raw_calibration_error: float  #: expected calibration error of the raw scores on the reference
    segmentation: Segmentation | None = None
    segment_metrics: dict[str, dict[str, float | None]] = dataclasses.field(default_factory=dict)

    def probabilities(self, scores: FloatArray) -> tuple[FloatArray, IntArray, FloatArray]:
        """Positive-class probabilities of ``scores`` (calibrated or as they are), each one's calibration block
        and the blocks' variances: how precisely the reference pins the probability down either way."""
        c = self.calibrator
        p = c.predict(scores) if self.calibrated else np.clip(scores, 0.0, 1.0)
        return p, c.blocks_of(scores), c.block_variance


def resolve_columns(reference: pd.DataFrame, *, score: str, prediction: str | None, label: str,
                    positive: Any, threshold: float) -> Columns:
    """The columns, checked against the reference; ``ValueError`` naming what is missing or not binary."""
    missing = [c for c in (score, label) if c not in reference.columns]
    if missing:
        raise ValueError(f"reference_data has no column {missing} (it has {list(reference.columns)[:20]}); "
                         "set score_column / label_column")
    if prediction is None and "prediction" in reference.columns:
        prediction = "prediction"
    if prediction is not None and prediction not in reference.columns:
        raise ValueError(f"reference_data has no prediction column {prediction!r}")
    labels = reference[label].dropna()
    classes = sorted(labels.unique().tolist())
    if len(classes) > 2:
        raise ValueError(f"performance-estimation estimates binary classifiers; the label column {label!r} "
                         f"has {len(classes)} classes")
    if positive is None:
        positive = 1 if 1 in classes else (classes[-1] if classes else 1)
    scores = pd.to_numeric(reference[score], errors="coerce")
    if scores.isna().all():
        raise ValueError(f"reference_data column {score!r} holds no numeric scores")
    return Columns(score, prediction, label, positive, threshold)


def prepare_reference(reference: pd.DataFrame, columns: Columns, *, calibrate: bool | str,
                      segmentation: Segmentation | None = None) -> LabelledReference:
    """The calibrator fitted on the reference's rows with a score and a label, and the reference's metrics.

    ``calibrate``: True, False, or ``"auto"``: only when it improves the scores on held-out reference rows
    (:func:`~modelmon.stats.calibration.calibration_helps`).
    """
    rows = reference.dropna(subset=[columns.score, columns.label]).reset_index(drop=True)
    if len(rows) < 2:
        raise ValueError(f"reference_data has {len(rows)} rows with a score and a label; need at least 2")
    scores = rows[columns.score].to_numpy(dtype=np.float64)
    outcomes = columns.outcomes(rows)
    decided = columns.decisions(rows)
    calibrated = calibration_helps(scores, outcomes) if calibrate == "auto" else bool(calibrate)
    segment_metrics: dict[str, dict[str, float | None]] = {}
    if segmentation is not None:
        labels = segmentation.assign(rows).to_numpy()
        for label in [*segmentation.labels, "other"]:
            mask = labels == label
            if mask.any():
                segment_metrics[label] = realized_metrics(outcomes[mask], decided[mask], scores[mask])
    return LabelledReference(
        columns, IsotonicCalibrator.fit(scores, outcomes), calibrated, realized_metrics(outcomes, decided, scores),
        len(rows),
        expected_calibration_error(np.clip(scores, 0.0, 1.0), outcomes), segmentation, segment_metrics)


def realized_metrics(outcomes: BoolArray, decided: BoolArray, scores: FloatArray) -> dict[str, float | None]:
    """The metrics the labels give: the expected ones with probabilities of 0 or 1."""
    return expected_metrics(outcomes.astype(np.float64), decided, scores)


def segmentation_for(reference: pd.DataFrame, segment_by: list[str] | str | None,
                     max_segments: int) -> Segmentation | None:
    if segment_by is None:
        return None
    return choose_segments(reference, segment_by, max_segments=max_segments)


__all__ = ["METRICS", "Columns", "LabelledReference", "prepare_reference", "realized_metrics", "resolve_columns",
           "segmentation_for"]
