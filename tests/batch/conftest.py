from __future__ import annotations

import pandas as pd
import pytest
from batch_data import FEATURES, T0
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression


@pytest.fixture(scope="session")
def iris() -> pd.DataFrame:
    """Iris with its ground truth in ``species`` and one row every 8 s from T0 (150 rows = 20 minutes)."""
    data = load_iris(as_frame=True)
    frame = data.data.set_axis(FEATURES, axis=1)
    frame["species"] = data.target
    frame["ts"] = T0 + frame.index.to_numpy() * 8_000
    return frame


@pytest.fixture(scope="session")
def model(iris) -> LogisticRegression:
    return LogisticRegression(max_iter=500).fit(iris[FEATURES], iris["species"])
