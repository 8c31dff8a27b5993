"""``performance-estimation`` for a regressor (DLE): estimated MAE and RMSE against the realized ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelmon import ResultKindApp, ResultStatusApp
from modelmon.apps.builtin.performance_estimation import PerformanceEstimationApplication


def _traffic(rng: np.random.Generator, n: int, *, spread: float = 1.0) -> pd.DataFrame:
    """``y = 2·x0 + x1 + noise`` whose spread grows with ``|x1|``; the model predicts the mean exactly, so its
    errors are the noise: a wider ``x1`` (covariate shift) means larger errors."""
    x0, x1 = rng.normal(0, 1, n), rng.normal(0, spread, n)
    prediction = 2 * x0 + x1
    label = prediction + rng.normal(0, 0.3 + np.abs(x1))
    return pd.DataFrame({"request_id": [f"r{i}" for i in range(n)], "x0": x0, "x1": x1,
                         "prediction": prediction, "label": label})


def _realized(frame: pd.DataFrame) -> dict[str, float]:
    error = frame["label"] - frame["prediction"]
    return {"mae": float(np.mean(np.abs(error))), "rmse": float(np.sqrt(np.mean(error**2)))}


def _by_name(results: pd.DataFrame) -> dict[str, pd.Series]:
    return {row["name"]: row for _, row in results.iterrows()}


@pytest.fixture(scope="module")
def app() -> PerformanceEstimationApplication:
    return PerformanceEstimationApplication(_traffic(np.random.default_rng(0), 10_000), task="regression")


def test_estimated_errors_follow_the_realized_ones_under_covariate_shift(app):
    rng = np.random.default_rng(1)
    spreads = np.linspace(0.5, 1.8, 30)
    frames = [_traffic(rng, 1000, spread=s) for s in spreads]
    inside = {"mae": 0, "rmse": 0}
    errors: dict[str, list[float]] = {"mae": [], "rmse": []}
    for frame in frames:
        got = _by_name(app.evaluate(frame.drop(columns=["label"])))
        truth = _realized(frame)
        for name in ("mae", "rmse"):
            row = got[f"estimated_{name}"]
            assert row["kind"] == ResultKindApp.model_performance
            errors[name].append(abs(row["value"] / truth[name] - 1))
            inside[name] += row["extra_data"]["lower"] <= truth[name] <= row["extra_data"]["upper"]
    truths = [_realized(f)["mae"] for f in frames]
    assert max(truths) > 2 * min(truths)  # the shift makes a real difference
    assert np.mean(errors["mae"]) < 0.03 and max(errors["mae"]) < 0.08  # relative to the realized MAE
    # the realized RMSE of 1,000 heavy-tailed errors itself moves by about 3.5% (one standard deviation)
    assert np.mean(errors["rmse"]) < 0.04 and max(errors["rmse"]) < 0.12
    assert inside["mae"] >= 26 and inside["rmse"] >= 26  # 95% bands over 30 windows


def test_status_reflects_a_rise_of_the_error_beyond_the_band(app):
    rng = np.random.default_rng(2)
    same = _by_name(app.evaluate(_traffic(rng, 1000).drop(columns=["label"])))
    wider = _by_name(app.evaluate(_traffic(rng, 1000, spread=1.5).drop(columns=["label"])))
    reference = _realized(_traffic(np.random.default_rng(0), 10_000))
    for name in ("mae", "rmse"):
        assert same[f"estimated_{name}"]["status"] == ResultStatusApp.no_detection
        extra = wider[f"estimated_{name}"]["extra_data"]
        assert wider[f"estimated_{name}"]["status"] == ResultStatusApp.detected
        assert extra["reference"] == pytest.approx(reference[name], rel=1e-5)
        assert extra["lower"] > extra["reference"] and extra["rise"] > 0.1 * extra["reference"]


def test_late_labels_give_the_realized_errors_and_the_estimation_error(app):
    window = _traffic(np.random.default_rng(3), 800, spread=1.2)
    got = _by_name(app.evaluate(window.drop(columns=["label"]), labels_df=window[["request_id", "label"]]))
    truth = _realized(window)
    for name in ("mae", "rmse"):
        assert got[f"realized_{name}"]["value"] == pytest.approx(truth[name])
        estimated = got[f"estimated_{name}"]["value"]
        assert got[f"estimation_error_{name}"]["value"] == pytest.approx(estimated - truth[name])
    assert got["labeled_rows"]["value"] == 800


def test_regression_configuration_and_irrelevant_windows():
    reference = _traffic(np.random.default_rng(4), 500)
    with pytest.raises(ValueError, match=r"subset of \['mae', 'rmse'\] for regression"):
        PerformanceEstimationApplication(reference, task="regression", metrics=["accuracy"])
    with pytest.raises(ValueError, match="segment_by is for classification only"):
        PerformanceEstimationApplication(reference, task="regression", segment_by=["x0"])
    with pytest.raises(ValueError, match=r"no column \['predicted'\]"):
        PerformanceEstimationApplication(reference, task="regression", prediction_column="predicted")
    with pytest.raises(ValueError, match="task must be one of"):
        PerformanceEstimationApplication(reference, task="ranking")
    app = PerformanceEstimationApplication(reference, task="regression", feature_columns=["x1"])
    assert app.reference.features == ["x1"]
    results = app.evaluate(reference.drop(columns=["prediction"]))
    assert set(results["status"]) == {ResultStatusApp.irrelevant}
    assert "no prediction column" in results["extra_data"][0]["reason"]
