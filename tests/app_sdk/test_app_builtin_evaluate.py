"""``evaluate`` runs every built-in app on plain DataFrames, with a reference DataFrame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelmon import ResultStatusApp
from modelmon.apps.builtin.data_quality import DataQualityApplication
from modelmon.apps.builtin.histogram_drift import HistogramDataDriftApplication
from modelmon.apps.builtin.model_performance import ModelPerformanceApplication
from modelmon.apps.builtin.system_performance import SystemPerformanceApplication

MINUTE = 60_000


def _frames(shift: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(11)
    reference = pd.DataFrame({"a": rng.normal(size=5000), "b": rng.normal(size=5000),
                              "c": rng.choice(["x", "y"], 5000)})
    n = 2000
    a = rng.normal(shift, size=n)
    sample = pd.DataFrame({
        "timestamp": np.arange(n) * 60, "request_id": [f"r{i}" for i in range(n)], "latency_us": 100.0 + a,
        "a": a, "b": rng.normal(size=n), "c": rng.choice(["x", "y"], n),
        "prediction": (a > 0).astype(int), "label": (a + rng.normal(0, 0.5, n) > 0).astype(int),
    })
    return reference, sample


@pytest.mark.parametrize("app", [HistogramDataDriftApplication(), DataQualityApplication(),
                                 SystemPerformanceApplication(), ModelPerformanceApplication()],
                         ids=lambda app: app.NAME)
def test_every_builtin_app_evaluates_per_window(app):
    reference, sample = _frames(0.0)
    got = app.evaluate(sample, reference_df=reference, base_period=1)
    assert got["start_infer_time"].nunique() == 2  # 2000 rows 60 ms apart: 120 s
    assert set(got["application_name"]) == {app.NAME}
    assert got["value"].notna().all()


def test_histogram_drift_flags_the_shifted_feature_only():
    reference, sample = _frames(1.0)
    got = HistogramDataDriftApplication.evaluate(sample, reference_df=reference).set_index("name")
    assert got.loc["drifted_features_share", "value"] == pytest.approx(1 / 3)


def test_data_quality_against_a_reference_dataframe():
    reference, sample = _frames(0.0)
    sample.loc[:9, "c"] = "z"
    sample.loc[:19, "b"] = 99.0
    got = DataQualityApplication.evaluate(sample, reference_df=reference).set_index("name")
    assert got.loc["unseen_category_share", "value"] == pytest.approx(10 / 2000)
    rest = sample["b"][20:]
    naturally_outside = int(((rest < reference["b"].min()) | (rest > reference["b"].max())).sum())
    assert got.loc["out_of_range_share", "extra_data"]["features"]["b"] == pytest.approx(
        (20 + naturally_outside) / 2000)
    assert got.loc["schema_drift", "status"] == ResultStatusApp.potential_detection  # "prediction" is new
    assert got.loc["schema_drift", "extra_data"]["added_features"] == ["prediction"]


def test_model_performance_judges_input_drift_from_the_reference():
    endpoint = {"reference_performance": {"accuracy": 0.99}}
    reference, same = _frames(0.0)
    got = ModelPerformanceApplication().evaluate(same, reference_df=reference, model_endpoint=endpoint)
    drift = got.set_index("name").loc["concept_drift"]
    assert drift["extra_data"]["inputs_drifted"] is False
    assert drift["status"] == ResultStatusApp.detected  # accuracy ~0.84 vs 0.99, inputs unchanged
    _, shifted = _frames(1.5)
    got = ModelPerformanceApplication().evaluate(shifted, reference_df=reference, model_endpoint=endpoint)
    drift = got.set_index("name").loc["concept_drift"]
    assert drift["extra_data"]["inputs_drifted"] is True
    assert drift["status"] == ResultStatusApp.no_detection
