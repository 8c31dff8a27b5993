"""Confidence-based performance estimation (CBPE) of a binary classifier on rows without labels.

Given each row's calibrated probability ``p`` that its label is positive and the model's decision,
the confusion matrix has an expected value (a predicted positive is a true positive with chance ``p``),
and so do accuracy, precision, recall, F1 and ROC AUC. Two uncertainties make the band around an
estimate: the labels are random even when ``p`` is right (the *sampling error* of a window of that size,
drawn by simulation), and ``p`` itself was learnt on a finite reference (the spread of the estimate over
calibrators fitted on bootstrap resamples of the reference). Valid while ``P(label | score)`` is what
the reference says: under covariate shift, not under concept drift.

>>> p = np.array([0.9, 0.8, 0.2, 0.1])
>>> estimates = estimate_binary(p, p >= 0.5, p)
>>> round(estimates["accuracy"].value, 3), round(estimates["precision"].value, 3)
(0.85, 0.85)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from modelmon.core.arrays import BoolArray, FloatArray, IntArray

METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
#: Simulated label draws per window for ROC AUC's sampling error (its own error is about 5% of the band).
DEFAULT_DRAWS = 200
_DRAW_CELLS = 2_000_000  # rows × draws simulated at once (bounds memory on large windows)


@dataclasses.dataclass(frozen=True)
class Estimate:
    """One estimated metric: its expected value and the standard deviations that make its band."""

    value: float | None  #: expected value (``None`` when undefined, e.g. no predicted positive for precision)
    sampling_std: float  #: spread of the realized value over label draws, for this window's rows
    calibration_std: float = 0.0  #: spread of the estimate over bootstrap calibrators
    rows: int = 0  #: rows of the window: the realized value moves in steps of about ``1 / rows``

    @property
    def std(self) -> float:
        return math.hypot(self.sampling_std, self.calibration_std)

    def band(self, z: float) -> tuple[float, float] | None:
        """``value ∓ (z·std + 0.5 / rows)``, clipped to [0, 1] (every metric here is a share).

        The half step is the continuity correction of a count: with few expected errors (a good model
        on a small window) the normal band alone misses the realized value's discrete, skewed spread.
        """
        if self.value is None:
            return None
        half = z * self.std + (0.5 / self.rows if self.rows else 0.0)
        return max(0.0, self.value - half), min(1.0, self.value + half)


@dataclasses.dataclass(frozen=True)
class Ranking:
    """The order of a window's scores, computed once and shared by every ROC AUC of the window."""

    order: IntArray  #: positions sorting the scores
    starts: IntArray  #: where each run of equal scores starts, in sorted order
    ranks: FloatArray  #: 1-based average rank of each row (ties share theirs), in row order

    @classmethod
    def of(cls, scores: FloatArray) -> Ranking:
        order = np.argsort(scores, kind="stable").astype(np.int64)
        _, starts, counts = np.unique(scores[order], return_index=True, return_counts=True)
        mean_ranks = np.cumsum(counts) - (counts - 1) / 2.0
        ranks = np.empty(scores.size, dtype=np.float64)
        ranks[order] = np.repeat(mean_ranks, counts)
        return cls(order, starts.astype(np.int64), ranks)


def expected_metrics(p: FloatArray, predicted: BoolArray, scores: FloatArray | Ranking
                     ) -> dict[str, float | None]:
    """Expected accuracy, precision, recall, F1 (ratios of expected counts) and ROC AUC.

    ``scores`` rank the rows for ROC AUC (the raw scores: calibration may merge distinct scores).
    """
    if not p.size:
        return dict.fromkeys(METRICS)
    ranking = scores if isinstance(scores, Ranking) else Ranking.of(scores)
    values = expected_metrics_of(p[np.newaxis, :], predicted, ranking)
    return {name: None if np.isnan(v[0]) else float(v[0]) for name, v in values.items()}


def expected_metrics_of(p: FloatArray, predicted: BoolArray, ranking: Ranking) -> dict[str, FloatArray]:
    """:func:`expected_metrics` for each row of the matrix ``p`` (e.g. one per bootstrap calibrator) at once;
    NaN where a metric is undefined."""
    n = p.shape[1]
    tp = p[:, predicted].sum(axis=1)
    positives = p.sum(axis=1)
    n_predicted = int(np.count_nonzero(predicted))
    fn = positives - tp
    tn = n - n_predicted - fn
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "accuracy": (tp + tn) / n,
            "precision": tp / n_predicted if n_predicted else np.full_like(tp, np.nan),
            "recall": np.where(positives > 0, tp / positives, np.nan),
            "f1": np.where(n_predicted + positives > 0, 2 * tp / (n_predicted + positives), np.nan),
            "roc_auc": _expected_roc_auc(p, ranking),
        }


def _expected_roc_auc(p: FloatArray, ranking: Ranking) -> FloatArray:
    """Expected concordant (positive above negative) pairs over expected positive × negative pairs.

    Each row is positive with chance ``p`` independently; ties in the scores count half.
    """
    if p.shape[1] < 2:
        return np.full(p.shape[0], np.nan)
    q = p[:, ranking.order]
    negative = 1.0 - q
    group_pos = np.add.reduceat(q, ranking.starts, axis=1)
    group_neg = np.add.reduceat(negative, ranking.starts, axis=1)
    below_neg = np.cumsum(group_neg, axis=1) - group_neg  # negatives with a strictly lower score
    own = q * negative
    within = group_pos * group_neg - np.add.reduceat(own, ranking.starts, axis=1)  # tied pairs, not a row with itself
    concordant = np.sum(group_pos * below_neg, axis=1) + 0.5 * np.sum(within, axis=1)
    pairs = q.sum(axis=1) * negative.sum(axis=1) - own.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc: FloatArray = np.where(pairs > 0, concordant / pairs, np.nan)
    return auc


def sampling_std(p: FloatArray, predicted: BoolArray, ranking: Ranking, *, draws: int = DEFAULT_DRAWS,
                 seed: int = 0) -> dict[str, float]:
    """Standard deviation of each realized metric when the labels are drawn with probabilities ``p``.

    True positives ``A`` and false negatives ``B`` are independent sums of Bernoulli draws: accuracy's
    and precision's spread is exact, recall's and F1's the delta method's; ROC AUC's is simulated
    (``draws`` label vectors, seeded: deterministic).
    """
    n = p.size
    if n == 0:
        return dict.fromkeys(METRICS, 0.0)
    variance = p * (1.0 - p)
    mean_a, var_a = float(p[predicted].sum()), float(variance[predicted].sum())
    mean_b, var_b = float(p[~predicted].sum()), float(variance[~predicted].sum())
    n_predicted = int(np.count_nonzero(predicted))
    positives = mean_a + mean_b
    out = {"accuracy": math.sqrt(var_a + var_b) / n,
           "precision": math.sqrt(var_a) / n_predicted if n_predicted else 0.0,
           "recall": math.sqrt(mean_b**2 * var_a + mean_a**2 * var_b) / positives**2 if positives > 0 else 0.0}
    denominator = n_predicted + positives
    out["f1"] = (2 * math.sqrt((n_predicted + mean_b) ** 2 * var_a + mean_a**2 * var_b) / denominator**2
                 if denominator > 0 else 0.0)
    rng = np.random.default_rng(seed)
    aucs = []
    per_chunk = max(1, _DRAW_CELLS // n)
    for first in range(0, draws, per_chunk):
        labels = rng.random((min(per_chunk, draws - first), n), dtype=np.float32) < p
        drawn = labels.sum(axis=1).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            rank_sum = labels.astype(np.float64) @ ranking.ranks
            aucs.append((rank_sum - drawn * (drawn + 1) / 2) / (drawn * (n - drawn)))
    values = np.concatenate(aucs)
    values = values[np.isfinite(values)]
    out["roc_auc"] = float(np.std(values)) if values.size > 1 else 0.0
    return out


def estimate_binary(p: FloatArray, predicted: BoolArray, scores: FloatArray, *,
                    bootstrap: Sequence[FloatArray] = (), draws: int = DEFAULT_DRAWS,
                    seed: int = 0) -> dict[str, Estimate]:
    """Every metric's :class:`Estimate` for one window.

    :param p: calibrated probability that each row's label is the positive class.
    :param predicted: whether the model predicted the positive class for each row.
    :param scores: the raw scores (ranking for ROC AUC).
    :param bootstrap: ``p`` under calibrators fitted on bootstrap resamples of the reference (may be empty).
    """
    if not (p.shape == predicted.shape == scores.shape) or p.ndim != 1:
        raise ValueError(f"p, predicted and scores must be flat and of one length, got {p.shape}, "
                         f"{predicted.shape}, {scores.shape}")
    ranking = Ranking.of(scores)
    values = expected_metrics(p, predicted, ranking)
    spread = sampling_std(p, predicted, ranking, draws=draws, seed=seed)
    resampled = expected_metrics_of(np.vstack(bootstrap), predicted, ranking) if len(bootstrap) > 1 else {}
    out = {}
    for name in METRICS:
        others = resampled[name][np.isfinite(resampled[name])] if resampled else np.empty(0)
        calibration = float(np.std(others)) if others.size > 1 else 0.0
        out[name] = Estimate(values[name], spread[name], calibration, p.size)
    return out
