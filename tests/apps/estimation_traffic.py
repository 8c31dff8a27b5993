"""Traffic of a binary classifier whose concept is known, for the performance-estimation tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def classified_traffic(rng: np.random.Generator, n: int, *, spread: float = 1.5, flip: float = 0.0,
                       region: str | None = None) -> pd.DataFrame:
    """A fixed concept ``P(y=1 | x) = sigmoid(2·x0 − x1)`` scored by an over-confident model.

    ``spread`` scales x0: a small one puts the rows near the decision boundary (harder: covariate
    shift that lowers accuracy). ``flip`` flips that share of the labels (concept drift).
    """
    x0, x1 = rng.normal(0, spread, n), rng.normal(0, 1, n)
    logit = 2 * x0 - x1
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    label = np.where(rng.random(n) < flip, 1 - label, label)
    score = 1 / (1 + np.exp(-3 * logit))  # monotone in the true probability, but not one
    frame = pd.DataFrame({"request_id": [f"r{i}" for i in range(n)], "x0": x0, "x1": x1, "score": score,
                          "prediction": (score >= 0.5).astype(int), "label": label})
    if region is not None:
        frame["region"] = region
    return frame


def realized_accuracy(frame: pd.DataFrame) -> float:
    return float(np.mean(frame["label"] == frame["prediction"]))
