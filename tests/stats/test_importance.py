from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import mutual_info_score

from modelmon.stats.importance import mutual_information, normalised


def test_discrete_columns_match_the_plug_in_estimate_less_the_miller_madow_bias():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 4, 5000)
    y = np.where(rng.random(5000) < 0.3, rng.integers(0, 3, 5000), x % 3)
    frame = pd.DataFrame({"x": x, "y": y})
    expected = mutual_info_score(x, y) - (4 - 1) * (3 - 1) / (2 * 5000)
    assert mutual_information(frame, ["x"], "y")["x"] == pytest.approx(expected, rel=1e-9)


def test_independent_columns_score_about_zero_whatever_their_bins():
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"x": rng.normal(size=3000), "text": rng.choice(list("abcdefghij"), 3000),
                          "y": rng.normal(size=3000)})
    mi = mutual_information(frame, ["x", "text"], "y", bins=10)
    assert mi["x"] < 0.005 and mi["text"] < 0.005


def test_a_deterministic_dependence_scores_the_entropy_of_the_prediction():
    rng = np.random.default_rng(5)
    x = rng.uniform(size=4000)
    low, mid = np.quantile(x, [0.25, 0.5])  # on bin edges: the estimate has nothing to blur
    frame = pd.DataFrame({"x": x, "y": np.where(x < low, "low", np.where(x < mid, "mid", "high"))})
    entropy = -(0.25 * math.log(0.25) * 2 + 0.5 * math.log(0.5))
    assert mutual_information(frame, ["x"], "y", bins=20)["x"] == pytest.approx(entropy, abs=0.005)


def test_missing_values_and_unhashable_values_and_columns_not_there():
    frame = pd.DataFrame({"x": [1.0, 2.0, None, 4.0] * 50, "obj": [{"a": 1}, {"a": 2}, {"a": 1}, {"a": 2}] * 50,
                          "y": [0, 1, 0, 1] * 50})
    mi = mutual_information(frame, ["x", "obj", "absent"], "y")
    assert set(mi) == {"x", "obj"} and mi["obj"] == pytest.approx(math.log(2), abs=0.01)
    with pytest.raises(ValueError, match="prediction column 'z'"):
        mutual_information(frame, ["x"], "z")
    with pytest.raises(ValueError, match="bins"):
        mutual_information(frame, ["x"], "y", bins=1)
    assert normalised({"a": 0.0, "b": 0.0}) == {"a": 0.0, "b": 0.0}
