"""The demo's model and reference data: scikit-learn's breast-cancer dataset and a model trained on it.

The dataset ships inside scikit-learn, so the demo needs no download. Feature names are turned into
identifiers (``"mean radius"`` → ``"mean_radius"``) because they become sample-store columns.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
from typing import Any

import numpy as np
import pandas as pd

from modelmon.core.arrays import FloatArray, IntArray
from modelmon.core.errors import ConfigError

SKLEARN_MISSING = (
    "modelmon demo needs scikit-learn (its dataset and model): pip install 'modelmon[demo]', or run `make demo`"
)


def _identifier(name: str) -> str:
    return re.sub(r"\W+", "_", name.strip()).strip("_").lower()


@dataclasses.dataclass(frozen=True)
class DemoModel:
    """A fitted classifier and the data it was trained on (the endpoints' reference)."""

    name: str
    model: Any
    reference: pd.DataFrame  # feature columns only

    @property
    def feature_names(self) -> list[str]:
        return list(self.reference.columns)

    def predict(self, features: FloatArray) -> IntArray:
        """Class predictions (0/1) for rows of feature values."""
        frame = pd.DataFrame(features, columns=self.feature_names)
        return np.asarray(self.model.predict(frame), dtype=np.int64)


def check_demo_model() -> None:
    """``ConfigError`` when scikit-learn is missing: checked before the demo touches its home."""
    if importlib.util.find_spec("sklearn") is None:
        raise ConfigError(SKLEARN_MISSING)


def train_demo_model(seed: int = 0) -> DemoModel:
    """Load the breast-cancer dataset and fit a scaled logistic regression on it (about 0.2 s)."""
    try:
        from sklearn.datasets import load_breast_cancer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
    except ImportError:
        raise ConfigError(SKLEARN_MISSING) from None
    data = load_breast_cancer(as_frame=True)
    features = data.data.rename(columns=_identifier).astype(np.float64)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))
    model.fit(features, data.target)
    return DemoModel(name="breast-cancer-classifier", model=model, reference=features.reset_index(drop=True))
