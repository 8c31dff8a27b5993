"""Calibrating a classifier's scores into probabilities: isotonic regression (pool adjacent violators).

Performance estimation without labels (:mod:`modelmon.stats.cbpe`) needs ``P(label = positive | score)``;
a model's raw score is often not that probability. The map is learnt on labelled reference rows and is
monotone, so it keeps the ranking of the scores (ROC AUC) and only fixes their level.

>>> calibrator = IsotonicCalibrator.fit(np.array([0.1, 0.2, 0.3, 0.4]), np.array([0, 1, 0, 1]))
>>> calibrator.predict(np.array([0.1, 0.25, 0.4])).tolist()
[0.0, 0.5, 1.0]
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt

from modelmon.core.arrays import BoolArray, FloatArray


@dataclasses.dataclass(frozen=True)
class IsotonicCalibrator:
    """A non-decreasing map from score to probability, linear between the fitted points (clipped outside)."""

    thresholds: FloatArray  #: distinct reference scores, increasing
    probabilities: FloatArray  #: the fitted probability at each threshold (non-decreasing)

    @classmethod
    def fit(cls, scores: npt.ArrayLike, outcomes: npt.ArrayLike,
            weights: npt.ArrayLike | None = None) -> IsotonicCalibrator:
        """Fit on reference ``scores`` and boolean ``outcomes`` (optionally weighted rows).

        Raises ``ValueError`` on NaN scores, mismatched lengths or no rows.
        """
        x = np.asarray(scores, dtype=np.float64)
        y = np.asarray(outcomes, dtype=np.float64)
        w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64)
        if x.ndim != 1 or x.shape != y.shape or x.shape != w.shape:
            raise ValueError(f"scores, outcomes and weights must be flat and of one length, got {x.shape}, "
                             f"{y.shape}, {w.shape}")
        if not x.size:
            raise ValueError("cannot calibrate on no rows")
        if not np.all(np.isfinite(x)) or not np.all(np.isfinite(y)):
            raise ValueError("scores and outcomes must be finite numbers (drop missing rows first)")
        keep = w > 0
        x, y, w = x[keep], y[keep], w[keep]
        # rows with the same score form one point (weighted mean outcome)
        unique, inverse = np.unique(x, return_inverse=True)
        weight = np.bincount(inverse, weights=w, minlength=unique.size).astype(np.float64)
        mean = np.bincount(inverse, weights=w * y, minlength=unique.size) / weight
        fitted = _pool_adjacent_violators(mean, weight)
        # the same map with only the ends of each flat stretch: fewer points to interpolate per window
        ends = np.ones(fitted.size, dtype=bool)
        ends[1:-1] = (fitted[1:-1] != fitted[:-2]) | (fitted[1:-1] != fitted[2:])
        return cls(unique[ends], fitted[ends])

    def predict(self, scores: npt.ArrayLike) -> FloatArray:
        """The calibrated probability of each score (NaN stays NaN)."""
        x = np.asarray(scores, dtype=np.float64)
        out: FloatArray = np.interp(x, self.thresholds, self.probabilities)
        out[np.isnan(x)] = np.nan
        return out


def _pool_adjacent_violators(values: FloatArray, weights: FloatArray) -> FloatArray:
    """The weighted least-squares non-decreasing fit of ``values`` (a stack of merged blocks)."""
    block_value: list[float] = []
    block_weight: list[float] = []
    block_size: list[int] = []
    for value, weight in zip(values.tolist(), weights.tolist(), strict=True):
        block_value.append(value)
        block_weight.append(weight)
        block_size.append(1)
        while len(block_value) > 1 and block_value[-2] > block_value[-1]:
            w = block_weight[-2] + block_weight[-1]
            v = (block_value[-2] * block_weight[-2] + block_value[-1] * block_weight[-1]) / w
            n = block_size[-2] + block_size[-1]
            del block_value[-1], block_weight[-1], block_size[-1]
            block_value[-1], block_weight[-1], block_size[-1] = v, w, n
    fitted: FloatArray = np.repeat(np.asarray(block_value, dtype=np.float64), block_size)
    return fitted


def bootstrap_calibrators(scores: FloatArray, outcomes: BoolArray, count: int,
                          seed: int = 0) -> list[IsotonicCalibrator]:
    """``count`` calibrators fitted on bootstrap resamples of the reference: their spread is how much the
    calibration itself is uncertain where the reference has few rows."""
    rng = np.random.default_rng(seed)
    n = scores.size
    out = []
    for _ in range(count):
        weights = np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64)
        out.append(IsotonicCalibrator.fit(scores, outcomes, weights))
    return out


def expected_calibration_error(scores: FloatArray, outcomes: BoolArray, bins: int = 10) -> float:
    """Mean gap between score and observed positive rate over equal-count bins of the score (0 = calibrated).

    A large value means the raw scores are not probabilities: estimating without calibrating would be wrong.
    """
    if not scores.size:
        raise ValueError("no rows")
    order = np.argsort(scores, kind="stable")
    gaps = [abs(float(np.mean(scores[part]) - np.mean(outcomes[part])) * part.size)
            for part in np.array_split(order, min(bins, scores.size))]
    return sum(gaps) / scores.size
