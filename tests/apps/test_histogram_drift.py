from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from modelmon.apps.builtin import HistogramDataDriftApplication
from modelmon.apps.sdk import MonitoringApplicationContext, run_application
from modelmon.core.results import ResultKindApp, ResultStatusApp
from modelmon.stats import feature_stats


def _context(window: pd.DataFrame, stats: dict, feature_names=(), **kwargs) -> MonitoringApplicationContext:
    return MonitoringApplicationContext(
        application_name="histogram-data-drift", project_name="test", endpoint_id="ep1",
        start_infer_time=pd.Timestamp("2024-01-01"), end_infer_time=pd.Timestamp("2024-01-01 01:00"),
        sample_df=window, feature_stats=stats, feature_names=feature_names, **kwargs)


def _run(app: HistogramDataDriftApplication, window: pd.DataFrame, stats: dict, **kwargs):
    results, metrics = run_application(app, _context(window, stats, **kwargs))
    return {r.name: r for r in results}, {m.name: m.value for m in metrics}


def _normals(rng: np.random.Generator, n: int, n_features: int = 20, shifted: int = 0) -> pd.DataFrame:
    return pd.DataFrame({f"f{i}": rng.normal(0.5 if i < shifted else 0.0, 1.0, n) for i in range(n_features)})


@pytest.fixture(scope="module")
def reference() -> dict:
    return feature_stats(_normals(np.random.default_rng(0), 10_000))


def test_five_of_twenty_shifted_features_are_reported_while_general_drift_stays_low(reference):
    window = _normals(np.random.default_rng(1), 10_000, shifted=5)
    results, metrics = _run(HistogramDataDriftApplication(), window, reference)
    share = results["drifted_features_share"]
    assert share.value == 0.25 and share.status == ResultStatusApp.potential_detection
    assert share.kind == ResultKindApp.data_drift
    assert sorted(share.extra_data["drifted_features"]) == ["f0", "f1", "f2", "f3", "f4"]
    assert set(share.extra_data["feature_thresholds"].values()) == {0.1}  # 10k rows: the minimum effect rules
    general = results["general_drift"]
    assert general.value < 0.5 and general.status == ResultStatusApp.no_detection
    features = general.extra_data["features"]
    assert general.value == pytest.approx(np.mean([(f["tvd"] + f["hellinger"]) / 2 for f in features.values()]),
                                          abs=1e-5)
    assert features["f0"]["status"] == ResultStatusApp.detected and features["f9"]["status"] == 0
    assert metrics["tvd_mean"] == pytest.approx(np.mean([f["tvd"] for f in features.values()]), abs=1e-5)
    assert set(metrics) == {"tvd_mean", "hellinger_mean", "kld_mean"}
    json.dumps(share.extra_data, allow_nan=False)


def test_identical_window_reports_nothing(reference):
    window = _normals(np.random.default_rng(0), 10_000)  # the reference rows themselves
    results, metrics = _run(HistogramDataDriftApplication(), window, reference)
    assert results["general_drift"].value == 0.0 and results["drifted_features_share"].value == 0.0
    assert metrics == {"tvd_mean": 0.0, "hellinger_mean": 0.0, "kld_mean": 0.0}


def test_general_drift_statuses_follow_mlrun_thresholds():
    rng = np.random.default_rng(2)
    stats = feature_stats(pd.DataFrame({"x": rng.normal(size=5000)}))
    far = pd.DataFrame({"x": rng.normal(100, 1, 5000)})
    results, _ = _run(HistogramDataDriftApplication(), far, stats)
    assert results["general_drift"].value == pytest.approx(1.0)
    assert results["general_drift"].status == ResultStatusApp.detected
    assert results["drifted_features_share"].status == ResultStatusApp.detected
    lenient = HistogramDataDriftApplication(potential_threshold=0.9, detected_threshold=1.5)
    assert _run(lenient, far, stats)[0]["general_drift"].status == ResultStatusApp.potential_detection


def test_custom_classifier_and_metric_are_used():
    rng = np.random.default_rng(3)
    stats = feature_stats(pd.DataFrame({"x": rng.normal(size=5000), "y": rng.normal(size=5000)}))
    window = pd.DataFrame({"x": rng.normal(0.5, 1, 5000), "y": rng.normal(size=5000)})
    seen = []

    def classify(value: float) -> int:
        seen.append(value)
        return 2

    app = HistogramDataDriftApplication(value_to_status=classify, feature_metric="jensen_shannon",
                                        min_effect_size=0.15)
    results, _ = _run(app, window, stats)
    assert results["general_drift"].status == ResultStatusApp.detected and seen == [results["general_drift"].value]
    share = results["drifted_features_share"]
    assert share.extra_data["metric"] == "jensen_shannon"
    assert share.extra_data["drifted_features"] == ["x"]
    assert share.extra_data["feature_scores"]["x"] == pytest.approx(
        results["general_drift"].extra_data["features"]["x"]["jensen_shannon"])

    def max_gap(p, q):
        return np.abs(p - q).max(axis=-1)

    custom = HistogramDataDriftApplication(feature_metric=max_gap, min_effect_size=0.01)
    assert _run(custom, window, stats)[0]["drifted_features_share"].extra_data["drifted_features"] == ["x"]


def test_edge_cases_give_statuses_not_exceptions():
    rng = np.random.default_rng(4)
    stats = feature_stats(pd.DataFrame({"x": rng.normal(size=500), "cat": rng.choice(["a", "b"], 500),
                                        "const": np.full(500, 2.0), "gone": rng.normal(size=500),
                                        "nan_ref": np.full(500, np.nan)}))
    window = pd.DataFrame({"x": np.full(200, np.nan), "cat": rng.choice(["a", "b"], 200), "const": 2.0,
                           "nan_ref": 1.0, "unknown": 1.0})
    results, metrics = _run(HistogramDataDriftApplication(), window, stats, feature_names=["x", "unknown"])
    share = results["drifted_features_share"]
    assert share.status == ResultStatusApp.no_detection and share.extra_data["features_scored"] == 2
    assert set(share.extra_data["not_scored"]) == {"x", "gone", "nan_ref", "unknown"}
    assert share.extra_data["notes"] == {"const": "constant in the reference"}
    assert metrics["tvd_mean"] < 0.2


@pytest.mark.parametrize("stats, window, reason", [
    ({}, pd.DataFrame({"x": [1.0]}), "no reference statistics"),
    (None, pd.DataFrame({"x": [1.0]}), "no reference statistics"),
    ({"x": {"hist": [[1, 2], [0.0, 1.0, 2.0]]}}, pd.DataFrame({"x": []}, dtype=float), "no feature could be compared"),
    ({"x": {"hist": [[1, 2], [0.0, 1.0, 2.0]]}}, pd.DataFrame({"y": [1.0]}), "no feature could be compared"),
])
def test_nothing_to_compare_is_irrelevant(stats, window, reason):
    results, metrics = _run(HistogramDataDriftApplication(), window, stats)
    assert {r.status for r in results.values()} == {ResultStatusApp.irrelevant}
    assert all(reason in r.extra_data["reason"] for r in results.values())
    assert metrics == {}


def test_extra_data_is_bounded():
    rng = np.random.default_rng(5)
    stats = feature_stats(_normals(rng, 1000, n_features=80))
    results, _ = _run(HistogramDataDriftApplication(max_features_in_extra_data=10), _normals(rng, 1000, 80, 80),
                      stats)
    share = results["drifted_features_share"]
    assert share.value == 1.0
    assert len(share.extra_data["drifted_features"]) == 10 and len(share.extra_data["feature_thresholds"]) == 10
    assert len(results["general_drift"].extra_data["features"]) == 10
    assert share.extra_data["features_scored"] == 80
    assert len(json.dumps(share.extra_data)) < 4000


def test_small_windows_use_the_noise_floor_as_threshold(reference):
    window = _normals(np.random.default_rng(6), 100)
    results, _ = _run(HistogramDataDriftApplication(), window, reference)
    thresholds = results["drifted_features_share"].extra_data["feature_thresholds"]
    assert min(thresholds.values()) > 0.15  # well above the 0.1 minimum effect at 100 rows
    assert results["drifted_features_share"].value <= 0.05


@pytest.mark.parametrize("kwargs, message", [
    ({"potential_threshold": 0.8, "detected_threshold": 0.7}, "general_drift"),
    ({"share_potential_threshold": -1}, "drifted_features_share"),
    ({"feature_metric": "nope"}, "unknown feature_metric"),
    ({"null_quantile": 1.0}, "null_quantile"),
    ({"null_draws": 10}, "null_draws"),
    ({"value_to_status": 3}, "value_to_status"),
    ({"strong_drift_ratio": 0.5}, "strong_drift_ratio"),
    ({"mlrun_compatible_binning": "yes"}, "mlrun_compatible_binning"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        HistogramDataDriftApplication(**kwargs)


def test_full_table_is_logged_when_asked(reference):
    logged = {}

    class Sink:
        def log_artifact(self, context, name, body, fmt, **kwargs):
            logged[name] = body
            return name

    window = _normals(np.random.default_rng(7), 1000, shifted=2)
    app = HistogramDataDriftApplication(log_table=True)
    run_application(app, _context(window, reference, artifact_sink=Sink()))
    table = logged["features_drift_table"]
    assert list(table["feature"]) == [f"f{i}" for i in range(20)]
    assert table["drifted"].tolist()[:2] == [True, True] and not table["drifted"][2:].any()


def test_evaluate_runs_the_app_on_dataframes():
    rng = np.random.default_rng(8)
    reference_df = pd.DataFrame({"x": rng.normal(size=3000), "c": rng.choice(["a", "b"], 3000)})
    window = pd.DataFrame({"x": rng.normal(1.0, 1, 3000), "c": rng.choice(["a", "b"], 3000)})
    table = HistogramDataDriftApplication().evaluate(window, reference_df=reference_df)
    rows = table.set_index("name")
    assert rows.loc["drifted_features_share", "value"] == 0.5
    assert rows.loc["drifted_features_share", "extra_data"]["drifted_features"] == ["x"]
    assert set(rows.index) == {"general_drift", "drifted_features_share", "tvd_mean", "hellinger_mean", "kld_mean"}
