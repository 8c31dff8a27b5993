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

from modelmon.core.arrays import BoolArray, FloatArray, IntArray


@dataclasses.dataclass(frozen=True)
class IsotonicCalibrator:
    """A non-decreasing map from score to probability, linear between the fitted points (clipped outside).

    The fit is a sequence of *blocks* (runs of reference scores pooled to one probability, their mean
    outcome); :meth:`blocks_of` and :attr:`block_variance` say how uncertain each window row's probability is.
    """

    thresholds: FloatArray  #: distinct reference scores, increasing (the ends of each block)
    probabilities: FloatArray  #: the fitted probability at each threshold (non-decreasing)
    block_starts: FloatArray  #: the lowest reference score of each block
    block_variance: FloatArray  #: variance of each block's probability (a mean of its reference outcomes)

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
        first = np.ones(fitted.size, dtype=bool)
        first[1:] = fitted[1:] != fitted[:-1]
        starts = np.flatnonzero(first)
        block_weight = np.add.reduceat(weight, starts)
        # a block's probability is the mean of its outcomes; shrunk a little towards 1/2 for its variance, so
        # that a block whose rows all agree still has some (the next rows need not)
        shrunk = (fitted[starts] * block_weight + 1.0) / (block_weight + 2.0)
        # the same map with only the ends of each flat stretch: fewer points to interpolate per window
        ends = first.copy()
        ends[:-1] |= first[1:]
        ends[-1] = True
        return cls(unique[ends], fitted[ends], unique[starts], shrunk * (1.0 - shrunk) / block_weight)

    def predict(self, scores: npt.ArrayLike) -> FloatArray:
        """The calibrated probability of each score (NaN stays NaN)."""
        x = np.asarray(scores, dtype=np.float64)
        out: FloatArray = np.interp(x, self.thresholds, self.probabilities)
        out[np.isnan(x)] = np.nan
        return out

    def blocks_of(self, scores: FloatArray) -> IntArray:
        """The block each score falls in (between two blocks: the lower one; outside: the nearest)."""
        blocks: IntArray = np.clip(np.searchsorted(self.block_starts, scores, side="right") - 1, 0,
                                   self.block_starts.size - 1).astype(np.int64)
        return blocks


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


def calibration_helps(scores: FloatArray, outcomes: BoolArray, folds: int = 5, seed: int = 0) -> bool:
    """Whether isotonic calibration brings ``scores`` closer to probabilities on rows it was not fitted on.

    Scores outside [0, 1] are no probabilities: calibrating them always helps. Otherwise each of ``folds``
    random parts of the reference is calibrated by a calibrator fitted on the others, and the expected
    calibration error of those held-out probabilities is compared with the raw scores': scores that are
    already probabilities gain nothing from calibration and only catch the calibrator's noise. (Not the
    Brier score: it also rewards resolution, which isotonic steps lose, while the estimate needs calibration.)
    """
    if scores.size < 2 * folds or np.any((scores < 0) | (scores > 1)):
        return True
    parts = np.array_split(np.random.default_rng(seed).permutation(scores.size), folds)
    calibrated = np.empty_like(scores)
    for part in parts:
        rest = np.ones(scores.size, dtype=bool)
        rest[part] = False
        calibrated[part] = IsotonicCalibrator.fit(scores[rest], outcomes[rest]).predict(scores[part])
    return expected_calibration_error(calibrated, outcomes) < expected_calibration_error(scores, outcomes)
