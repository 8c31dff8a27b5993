"""Confidence-based performance estimation (CBPE) of a binary classifier on rows without labels.

Given each row's calibrated probability ``p`` that its label is positive and the model's decision,
the confusion matrix has an expected value (a predicted positive is a true positive with chance ``p``),
and so do accuracy, precision, recall, F1 and ROC AUC. Two uncertainties make the band around an
estimate, both from the metric's gradient ``g`` with respect to each row's ``p`` (the delta method; exact
for accuracy and precision, which are linear): the labels are random even when ``p`` is right — the
*sampling error* of a window of that size, ``Σ g² p (1 − p)`` — and ``p`` itself was learnt on a finite
reference — the *calibration error*, ``Σ_blocks (Σ_block g)² var(block)`` over the calibrator's blocks.
Valid while ``P(label | score)`` is what the reference says: under covariate shift, not under concept drift.

>>> p = np.array([0.9, 0.8, 0.2, 0.1])
>>> estimates = estimate_binary(p, p >= 0.5, p)
>>> round(estimates["accuracy"].value, 3), round(estimates["precision"].value, 3)
(0.85, 0.85)
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from modelmon.core.arrays import BoolArray, FloatArray, IntArray

METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")


@dataclasses.dataclass(frozen=True)
class Estimate:
    """One estimated metric: its expected value and the standard deviations that make its band."""

    value: float | None  #: expected value (``None`` when undefined, e.g. no predicted positive for precision)
    sampling_std: float  #: spread of the realized value over the labels' draws, for this window's rows
    calibration_std: float = 0.0  #: spread of the estimate from the calibration's own uncertainty
    rows: int = 0  #: rows of the window: the realized value moves in steps of about ``1 / rows`` (0: not a share)
    ceiling: float = 1.0  #: the highest value the metric can take (a share: 1; an error: infinity)

    @property
    def std(self) -> float:
        return math.hypot(self.sampling_std, self.calibration_std)

    def band(self, z: float) -> tuple[float, float] | None:
        """``value ∓ (z·std + 0.5 / rows)``, clipped to [0, ceiling].

        The half step is the continuity correction of a count: with few expected errors (a good model
        on a small window) the normal band alone misses the realized value's discrete, skewed spread.
        """
        if self.value is None:
            return None
        half = z * self.std + (0.5 / self.rows if self.rows else 0.0)
        return max(0.0, self.value - half), min(self.ceiling, self.value + half)


@dataclasses.dataclass(frozen=True)
class Ranking:
    """The order of a window's scores and its runs of tied scores, for ROC AUC."""

    order: IntArray  #: positions sorting the scores
    starts: IntArray  #: where each run of equal scores starts, in sorted order
    group: IntArray  #: the run of each sorted position

    @classmethod
    def of(cls, scores: FloatArray) -> Ranking:
        order = np.argsort(scores, kind="stable").astype(np.int64)
        _, starts, counts = np.unique(scores[order], return_index=True, return_counts=True)
        group = np.repeat(np.arange(starts.size, dtype=np.int64), counts)
        return cls(order, starts.astype(np.int64), group)


@dataclasses.dataclass(frozen=True)
class _Expected:
    value: float | None
    gradient: FloatArray | None  #: d value / d p of each row (row order); None when the value is undefined


def expected_metrics(p: FloatArray, predicted: BoolArray, scores: FloatArray | Ranking
                     ) -> dict[str, float | None]:
    """Expected accuracy, precision, recall, F1 (ratios of expected counts) and ROC AUC.

    ``scores`` rank the rows for ROC AUC (the raw scores: calibration may merge distinct scores).
    With ``p`` the labels themselves (0 or 1) these are the realized metrics.
    """
    ranking = scores if isinstance(scores, Ranking) else Ranking.of(scores)
    return {name: e.value for name, e in _expected(p, predicted, ranking).items()}


def _expected(p: FloatArray, predicted: BoolArray, ranking: Ranking) -> dict[str, _Expected]:
    n = p.size
    if not n:
        return {name: _Expected(None, None) for name in METRICS}
    a = float(p[predicted].sum())  # expected true positives
    b = float(p[~predicted].sum())  # expected false negatives
    n_predicted = int(np.count_nonzero(predicted))
    sign = np.where(predicted, 1.0, -1.0)
    out = {"accuracy": _Expected((a + (n - n_predicted) - b) / n, sign / n)}
    out["precision"] = _Expected(a / n_predicted, predicted / n_predicted) if n_predicted else _Expected(None, None)
    positives = a + b
    out["recall"] = _Expected(a / positives, np.where(predicted, b, -a) / positives**2) if positives > 0 \
        else _Expected(None, None)
    d = n_predicted + positives
    out["f1"] = _Expected(2 * a / d, np.where(predicted, 2 * (n_predicted + b), -2 * a) / d**2) if d > 0 \
        else _Expected(None, None)
    out["roc_auc"] = _expected_roc_auc(p, ranking)
    return out


def _expected_roc_auc(p: FloatArray, ranking: Ranking) -> _Expected:
    """Expected concordant (positive above negative) pairs ``N`` over expected positive × negative pairs ``D``.

    Each row is positive with chance ``p`` independently; ties in the scores count half.
    """
    if p.size < 2:
        return _Expected(None, None)
    q = p[ranking.order]
    negative = 1.0 - q
    group_pos = np.add.reduceat(q, ranking.starts)
    group_neg = np.add.reduceat(negative, ranking.starts)
    own = q * negative
    below_neg = np.cumsum(group_neg) - group_neg  # negatives with a strictly lower score
    above_pos = q.sum() - np.cumsum(group_pos)  # positives with a strictly higher score
    within = group_pos * group_neg - np.add.reduceat(own, ranking.starts)  # tied pairs, not a row with itself
    concordant = float(np.sum(group_pos * below_neg) + 0.5 * np.sum(within))
    positives, negatives = float(q.sum()), float(negative.sum())
    pairs = positives * negatives - float(own.sum())
    if pairs <= 0:
        return _Expected(None, None)
    g = ranking.group
    d_concordant = (below_neg[g] + 0.5 * (group_neg[g] - negative)) - (above_pos[g] + 0.5 * (group_pos[g] - q))
    d_pairs = negatives - positives - (1.0 - 2.0 * q)
    gradient = np.empty_like(p)
    gradient[ranking.order] = (d_concordant * pairs - concordant * d_pairs) / pairs**2
    return _Expected(concordant / pairs, gradient)


def estimate_binary(p: FloatArray, predicted: BoolArray, scores: FloatArray, *,
                    blocks: IntArray | None = None, block_variance: FloatArray | None = None
                    ) -> dict[str, Estimate]:
    """Every metric's :class:`Estimate` for one window.

    :param p: calibrated probability that each row's label is the positive class.
    :param predicted: whether the model predicted the positive class for each row.
    :param scores: the raw scores (ranking for ROC AUC).
    :param blocks: the calibrator's block of each row, and ``block_variance`` the variance of each block's
        probability (:meth:`~modelmon.stats.calibration.IsotonicCalibrator.blocks_of`); without them the
        calibration is taken as exact.
    """
    if not (p.shape == predicted.shape == scores.shape) or p.ndim != 1:
        raise ValueError(f"p, predicted and scores must be flat and of one length, got {p.shape}, "
                         f"{predicted.shape}, {scores.shape}")
    label_variance = p * (1.0 - p)
    out = {}
    for name, expected in _expected(p, predicted, Ranking.of(scores)).items():
        if expected.gradient is None:
            out[name] = Estimate(expected.value, 0.0, 0.0, p.size)
            continue
        gradient = expected.gradient
        sampling = math.sqrt(float(np.sum(gradient**2 * label_variance)))
        calibration = 0.0
        if blocks is not None and block_variance is not None:
            per_block = np.bincount(blocks, weights=gradient, minlength=block_variance.size)
            calibration = math.sqrt(float(np.sum(per_block**2 * block_variance)))
        out[name] = Estimate(expected.value, sampling, calibration, p.size)
    return out
