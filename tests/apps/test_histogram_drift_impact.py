from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from modelmon.apps.builtin import HistogramDataDriftApplication
from modelmon.stats import feature_stats
from tests.apps.segment_traffic import FEATURES, run, traffic


def _normals(seed: int, n: int, shifts: dict[str, float]) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({f"x{i}": rng.normal(shifts.get(f"x{i}", 0.0), 1.0, n) for i in range(8)})


@pytest.fixture(scope="module")
def normal_stats() -> dict:
    return feature_stats(_normals(0, 10_000, {}))


def test_given_importance_orders_drifted_features_by_impact_and_names_the_top_culprit(normal_stats):
    window = _normals(1, 10_000, {"x0": 1.0, "x1": 0.6, "x2": 0.4})
    plain = run(HistogramDataDriftApplication(), window, normal_stats)
    ranked = run(HistogramDataDriftApplication(feature_importance={"x0": 1, "x1": 10, "x2": 20, "x5": 5}),
                 window, normal_stats)
    share = ranked["drifted_features_share"].extra_data
    ranking = share["impact_ranking"]
    assert [r["feature"] for r in ranking] == ["x2", "x1", "x0"]  # x0 drifted most but matters least
    assert [r["importance"] for r in ranking] == [1.0, 0.5, 0.05]  # scaled to the largest given (20)
    scores = share["feature_scores"]
    for row in ranking:
        assert row["drift"] == scores[row["feature"]]
        assert row["impact"] == pytest.approx(row["drift"] * row["importance"], rel=1e-5)
    assert share["top_culprit"] == "x2" and ranked["general_drift"].extra_data["top_culprit"] == "x2"
    assert share["importance_source"] == "given"
    assert share["feature_importance"] == {"x0": 0.05, "x1": 0.5, "x2": 1.0, "x5": 0.25}
    # what was there before is unchanged: values, statuses and the older extra_data keys
    for name in ("general_drift", "drifted_features_share"):
        assert (ranked[name].value, ranked[name].status) == (plain[name].value, plain[name].status)
        old = {k: v for k, v in plain[name].extra_data.items()
               if k not in ("impact_ranking", "importance_source", "feature_importance", "top_culprit")}
        assert {k: ranked[name].extra_data[k] for k in old} == old
    json.dumps(share, allow_nan=False)


def test_importance_estimated_from_the_reference_rows_puts_the_feature_the_prediction_uses_first():
    reference = traffic(0, 10_000)
    stats = feature_stats(reference[FEATURES])
    window = traffic(1, 5000)
    window["f1"] += 1.0  # a big move of a feature the prediction hardly depends on
    window["f0"] += 0.4  # a smaller one of the feature it is made of
    app = HistogramDataDriftApplication(reference_data=reference)
    share = run(app, window, stats)["drifted_features_share"].extra_data
    assert share["importance_source"] == "mutual information with 'prediction' on 10000 reference rows"
    ranking = share["impact_ranking"]
    assert [r["feature"] for r in ranking] == ["f0", "f1"]
    assert ranking[1]["drift"] > ranking[0]["drift"]
    assert share["feature_importance"]["f0"] == 1.0
    assert share["feature_importance"]["f1"] < 0.2  # related through the region only
    assert share["top_culprit"] == "f0"


def test_without_importance_the_ranking_is_by_drift(normal_stats):
    share = run(HistogramDataDriftApplication(), _normals(1, 10_000, {"x0": 0.4, "x3": 1.0}),
                normal_stats)["drifted_features_share"].extra_data
    assert share["impact_ranking"] == [
        {"feature": "x3", "drift": share["feature_scores"]["x3"], "importance": None, "impact": None},
        {"feature": "x0", "drift": share["feature_scores"]["x0"], "importance": None, "impact": None}]
    assert share["top_culprit"] == "x3"
    assert share["importance_source"] == "none (give feature_importance= or reference_data=)"
    nothing = run(HistogramDataDriftApplication(), _normals(2, 10_000, {}), normal_stats)
    assert nothing["drifted_features_share"].extra_data["impact_ranking"] == []
    assert nothing["general_drift"].extra_data["top_culprit"] is None


def test_reference_rows_without_the_prediction_say_so():
    reference = traffic(0, 2000)
    app = HistogramDataDriftApplication(reference_data=reference, prediction_column="score")
    share = run(app, traffic(1, 2000), feature_stats(reference[FEATURES]))["drifted_features_share"]
    assert share.extra_data["importance_source"] == "none (the reference rows have no prediction column 'score')"


@pytest.mark.parametrize("importance, message", [
    ({"x0": -1.0}, "must be a finite non-negative number"),
    ({"x0": float("nan")}, "must be a finite non-negative number"),
    ({"x0": "high"}, "must be a finite non-negative number"),
    ({}, "non-empty mapping"),
    (["x0"], "non-empty mapping"),
])
def test_bad_importance_is_refused(importance, message):
    with pytest.raises(ValueError, match=message):
        HistogramDataDriftApplication(feature_importance=importance)
