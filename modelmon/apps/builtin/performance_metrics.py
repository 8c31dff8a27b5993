"""Classification and regression metrics in numpy (scikit-learn is only a test dependency).

>>> accuracy(np.array([1, 0, 1, 1]), np.array([1, 0, 0, 1]))
0.75
>>> roc_auc(np.array([False, False, True, True]), np.array([0.1, 0.4, 0.35, 0.8]))
0.75
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

#: Metrics where a higher value is better; for the others (errors) lower is better.
HIGHER_IS_BETTER = {"accuracy": True, "f1": True, "roc_auc": True, "r2": True, "mae": False, "rmse": False}
CLASSIFICATION_METRICS = ("accuracy", "f1", "roc_auc")
REGRESSION_METRICS = ("mae", "rmse", "r2")


def accuracy(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> float:
    """Share of predictions equal to the label."""
    return float(np.mean(y_true == y_pred))


def f1(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any], positive: object = None) -> float:
    """F1 of ``positive`` for two classes, else the macro average over all classes seen.

    With two classes and no ``positive``, the positive class is 1 (or True) when present, else the larger one.
    """
    classes = np.unique(np.concatenate([y_true, y_pred]))
    if len(classes) <= 2:
        if positive is None:
            positive = 1 if np.any(classes == 1) else classes[-1]
        return _f1_of(y_true, y_pred, positive)
    return float(np.mean([_f1_of(y_true, y_pred, label) for label in classes]))


def _f1_of(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any], label: object) -> float:
    true_pos = np.count_nonzero((y_true == label) & (y_pred == label))
    denominator = np.count_nonzero(y_true == label) + np.count_nonzero(y_pred == label)
    return 2.0 * true_pos / denominator if denominator else 0.0


def roc_auc(positive: npt.NDArray[Any], scores: npt.NDArray[Any]) -> float | None:
    """Area under the ROC curve of a boolean ``positive`` label and scores; ``None`` with one class.

    The Mann–Whitney form: the chance that a random positive scores above a random negative (ties count half).
    """
    positive = np.asarray(positive, dtype=bool)
    n_pos = int(np.count_nonzero(positive))
    n_neg = positive.size - n_pos
    if not n_pos or not n_neg:
        return None
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    mean_ranks = np.cumsum(counts) - (counts - 1) / 2.0  # 1-based average rank of each distinct score
    rank_sum = float(mean_ranks[inverse][positive].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def mae(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> float:
    """Mean absolute error."""
    return float(np.mean(np.abs(y_true - y_pred)))


def rmse(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> float:
    """Root mean squared error."""
    return float(np.sqrt(np.mean((y_true - y_pred) ** 2)))


def r2(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> float | None:
    """Coefficient of determination; ``None`` when the labels are constant (it is undefined then)."""
    total = float(np.sum((y_true - np.mean(y_true)) ** 2))
    if total == 0.0:
        return None
    return 1.0 - float(np.sum((y_true - y_pred) ** 2)) / total
