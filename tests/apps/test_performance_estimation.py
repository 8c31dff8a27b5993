"""The ``performance-estimation`` app on generated traffic whose realized performance is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelmon import ResultKindApp, ResultStatusApp
from modelmon.apps.builtin.performance_estimation import PerformanceEstimationApplication
from modelmon.apps.runner.loader import load_app
from modelmon.apps.runner.runner import AppRunner
from modelmon.backends import make_backend
from modelmon.core.config import Settings
from modelmon.core.paths import ProjectPaths
from modelmon.endpoints.registration import register_model_endpoint
from modelmon.events import WindowEvent
from tests.apps.estimation_traffic import classified_traffic as _traffic
from tests.apps.estimation_traffic import realized_accuracy as _realized_accuracy

PERIOD_MS = 10 * 60_000
T0 = 1_764_516_000_000
CLASS = "modelmon.apps.builtin.performance_estimation:PerformanceEstimationApplication"


def _by_name(results: pd.DataFrame) -> dict[str, pd.Series]:
    return {row["name"]: row for _, row in results.iterrows()}


def _windows(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The frames as consecutive 10-minute windows (rows spread evenly in each)."""
    return pd.concat([f.assign(timestamp=k * PERIOD_MS + np.arange(len(f)) * (PERIOD_MS // len(f)))
                      for k, f in enumerate(frames)], ignore_index=True)


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return _traffic(np.random.default_rng(0), 8000)


@pytest.fixture(scope="module")
def app(reference) -> PerformanceEstimationApplication:
    return PerformanceEstimationApplication(reference)


def test_estimates_follow_the_realized_accuracy_under_covariate_shift(app):
    rng = np.random.default_rng(1)
    spreads = np.linspace(0.3, 2.5, 40)
    frames = [_traffic(rng, 800, spread=s) for s in spreads]
    results = app.evaluate(_windows(frames).drop(columns=["label"]), base_period=10)
    estimated = results[results["name"] == "estimated_accuracy"].reset_index(drop=True)
    assert len(estimated) == 40
    realized = np.array([_realized_accuracy(f) for f in frames])
    assert realized.max() - realized.min() > 0.2  # the shift makes a real difference
    errors = estimated["value"].to_numpy() - realized
    assert np.mean(np.abs(errors)) < 0.015
    assert np.max(np.abs(errors)) < 0.05
    lower = np.array([e["lower"] for e in estimated["extra_data"]])
    upper = np.array([e["upper"] for e in estimated["extra_data"]])
    # a 95% band: 36 of these 40 windows (the bench measures it over more: python -m bench estimation)
    assert np.mean((lower <= realized) & (realized <= upper)) >= 0.85
    assert np.all((upper - lower > 0.03) & (upper - lower < 0.1))  # about ±2 standard deviations of 800 rows
    assert set(estimated["kind"]) == {ResultKindApp.model_performance}
    assert not (results["name"] == "realized_accuracy").any()  # no labels in the rows


def test_status_reflects_a_drop_below_the_reference_beyond_the_band(app, reference):
    rng = np.random.default_rng(2)
    same, harder = _traffic(rng, 2000), _traffic(rng, 2000, spread=0.3)
    results = _by_name(app.evaluate(_windows([same]).drop(columns=["label"])))
    accuracy = results["estimated_accuracy"]
    assert accuracy["status"] == ResultStatusApp.no_detection
    assert accuracy["extra_data"]["reference"] == pytest.approx(_realized_accuracy(reference), abs=1e-5)
    dropped = _by_name(app.evaluate(_windows([harder]).drop(columns=["label"])))
    for name in ("estimated_accuracy", "estimated_roc_auc"):
        extra = dropped[name]["extra_data"]
        assert dropped[name]["status"] == ResultStatusApp.detected, name
        assert extra["reference"] > extra["upper"]
        assert extra["drop"] == pytest.approx(extra["reference"] - dropped[name]["value"], abs=1e-5)
    assert dropped["estimated_accuracy"]["extra_data"]["drop"] > 0.1


def test_a_small_window_with_a_small_drop_is_at_most_potential(reference):
    app = PerformanceEstimationApplication(reference, metrics=["accuracy"], min_rows=30)
    rows = _traffic(np.random.default_rng(3), 60, spread=1.1)  # ~0.03 below the reference, ±0.1 band
    results = app.evaluate(_windows([rows]).drop(columns=["label"]))
    [row] = results[results["name"] == "estimated_accuracy"].itertuples()
    assert row.extra_data["drop"] > 0.02
    assert row.status in (ResultStatusApp.no_detection, ResultStatusApp.potential_detection)
    assert row.extra_data["upper"] - row.extra_data["lower"] > 0.1


def test_late_labels_give_the_realized_value_and_the_estimation_error(app):
    rng = np.random.default_rng(4)
    window = _traffic(rng, 1500, spread=0.8)
    labels = window[["request_id", "label"]].iloc[::-1]  # late labels, in another order
    got = _by_name(app.evaluate(_windows([window]).drop(columns=["label"]), labels_df=labels))
    truth = _realized_accuracy(window)
    assert got["realized_accuracy"]["value"] == pytest.approx(truth)
    assert got["labeled_rows"]["value"] == 1500
    error = got["estimation_error_accuracy"]["value"]
    assert error == pytest.approx(got["estimated_accuracy"]["value"] - truth)
    assert abs(error) < 0.03
    extra = got["estimated_accuracy"]["extra_data"]
    assert extra["realized"] == pytest.approx(truth, abs=1e-5) and extra["realized_within_band"] is True
    for name in ("precision", "recall", "f1", "roc_auc"):
        assert abs(got[f"estimation_error_{name}"]["value"]) < 0.04, name


def test_concept_drift_is_invisible_to_the_estimate_but_shows_in_its_error(app):
    """The documented limit: labels flipped for a third of the rows, the same inputs and scores."""
    window = _traffic(np.random.default_rng(5), 2000, flip=0.33)
    got = _by_name(app.evaluate(_windows([window])))  # the label column is in the rows
    assert got["estimated_accuracy"]["status"] == ResultStatusApp.no_detection
    assert got["realized_accuracy"]["value"] < got["estimated_accuracy"]["value"] - 0.2
    assert got["estimated_accuracy"]["extra_data"]["realized_within_band"] is False


def test_calibration_is_what_makes_over_confident_scores_usable(reference):
    window = _windows([_traffic(np.random.default_rng(6), 2000, spread=0.5)]).drop(columns=["label"])
    truth = _realized_accuracy(_traffic(np.random.default_rng(6), 2000, spread=0.5))
    calibrated = PerformanceEstimationApplication(reference, metrics=["accuracy"])
    raw = PerformanceEstimationApplication(reference, metrics=["accuracy"], calibrate=False)
    assert calibrated.reference.raw_calibration_error > 0.05  # the scores are not probabilities
    assert calibrated.evaluate(window)["value"][0] == pytest.approx(truth, abs=0.03)
    assert raw.evaluate(window)["value"][0] > truth + 0.05  # taken at face value: far too optimistic


def test_the_worst_segment_is_named_and_escalates(reference):
    rng = np.random.default_rng(7)
    regions = ["eu", "us", "apac", "latam", "mea"]
    ref = pd.concat([_traffic(rng, 1500, region=r) for r in regions], ignore_index=True)
    app = PerformanceEstimationApplication(ref, segment_by=["region"], metrics=["accuracy", "f1"])
    window = pd.concat([_traffic(rng, 400, region=r, spread=0.3 if r == "apac" else 1.5) for r in regions],
                       ignore_index=True)
    got = _by_name(app.evaluate(_windows([window]).drop(columns=["label"])))
    accuracy = got["estimated_accuracy"]
    worst = accuracy["extra_data"]["worst_segments"]
    assert worst[0]["segment"] == "region=apac" and worst[0]["status"] == ResultStatusApp.detected
    assert worst[0]["value"] > 0.1 and worst[1]["value"] < 0.05
    assert accuracy["extra_data"]["drop"] < 0.06  # diluted in the whole window
    assert accuracy["status"] >= ResultStatusApp.potential_detection
    assert "worst_segments" not in got["estimated_f1"]["extra_data"]  # segments for segment_metric only


def test_irrelevant_without_reference_score_column_or_rows(reference):
    window = _windows([_traffic(np.random.default_rng(8), 100)])
    for app, frame, reason in (
            (PerformanceEstimationApplication(), window, "no labelled reference"),
            (PerformanceEstimationApplication(reference), window.drop(columns=["score"]), "no score column"),
            (PerformanceEstimationApplication(reference, min_rows=200), window, "100 rows with a score")):
        results = app.evaluate(frame)
        assert len(results) == 5
        assert set(results["status"]) == {ResultStatusApp.irrelevant}
        assert reason in results["extra_data"][0]["reason"]


def test_bad_configuration_is_refused(reference):
    multiclass = reference.assign(label=np.arange(len(reference)) % 3)
    with pytest.raises(ValueError, match=r"binary classifiers.*3 classes"):
        PerformanceEstimationApplication(multiclass)
    with pytest.raises(ValueError, match=r"no column \[.proba.\]"):
        PerformanceEstimationApplication(reference, score_column="proba")
    with pytest.raises(ValueError, match="metrics must be"):
        PerformanceEstimationApplication(reference, metrics=["mae"])
    with pytest.raises(ValueError, match="segment_by must be a non-empty list"):
        PerformanceEstimationApplication(segment_by=[])
    with pytest.raises(ValueError, match="confidence"):
        PerformanceEstimationApplication(reference, confidence=1.5)


def test_deployable_from_its_class_path_with_a_parquet_reference(reference, tmp_path):
    path = tmp_path / "reference.parquet"
    reference.to_parquet(path)
    app = load_app("modelmon.apps.builtin.performance_estimation:PerformanceEstimationApplication",
                   {"reference_data": str(path), "metrics": ["accuracy"]})
    assert app.reference.rows == len(reference)
    assert app.reference.metrics["accuracy"] == pytest.approx(_realized_accuracy(reference))
    bare = load_app("modelmon.apps.builtin.performance_estimation:PerformanceEstimationApplication", {})
    assert bare.reference is None


def test_without_reference_data_the_endpoints_reference_rows_are_used(reference, app, tmp_path):
    """A deployed app needs no reference_data when the endpoint was registered with labelled reference rows."""
    window = _traffic(np.random.default_rng(9), 1000, spread=0.5)
    stamps = T0 + np.arange(1000) * (PERIOD_MS // 1000)
    backend = make_backend(Settings(home=str(tmp_path / "home"), project="p"))
    paths = ProjectPaths("p")
    try:
        with_rows = register_model_endpoint(backend, "p", "scored", reference_data=reference)
        features_only = register_model_endpoint(backend, "p", "unscored", reference_data=reference[["x0", "x1"]])
        runner = AppRunner(load_app(CLASS, {}), "performance-estimation", backend, paths)
        got = {}
        for endpoint in (with_rows, features_only):
            backend.samples.append(endpoint.endpoint_id, window.drop(columns=["label"]).assign(timestamp=stamps),
                                   batch_id="b0")
            out = runner.analyse(WindowEvent("p", endpoint.endpoint_id, "performance-estimation", T0,
                                             T0 + PERIOD_MS, endpoint.name))
            got[endpoint.name] = {r.name: r for r in out.results}
    finally:
        backend.close()
    given = _by_name(app.evaluate(_windows([window]).drop(columns=["label"])))
    assert got["scored"]["estimated_accuracy"].value == pytest.approx(given["estimated_accuracy"]["value"], abs=1e-9)
    assert got["scored"]["estimated_accuracy"].status == ResultStatusApp.detected
    unscored = got["unscored"]["estimated_accuracy"]
    assert unscored.status == ResultStatusApp.irrelevant
    assert unscored.extra_data["reason"].startswith("the endpoint's reference rows: reference_data has no column")


def test_clean_windows_raise_no_detection(app):
    """No shift: 100 windows of 500 rows like the reference give no detected result (no alert fatigue)."""
    rng = np.random.default_rng(50)
    results = app.evaluate(_windows([_traffic(rng, 500) for _ in range(100)]).drop(columns=["label"]), base_period=10)
    judged = results[results["type"] == "result"]
    assert len(judged) == 500
    assert not (judged["status"] == ResultStatusApp.detected).any()
    potential = judged[judged["status"] == ResultStatusApp.potential_detection]
    assert len(potential) <= 10  # 5 (recall: one standard deviation below the reference) of 500


def test_unreadable_scores_are_left_out(app):
    window = _traffic(np.random.default_rng(11), 400).astype({"score": object})
    window.loc[:9, "score"] = ["n/a", None, np.inf, -np.inf, np.nan, "", "0.x", None, None, None]
    got = _by_name(app.evaluate(_windows([window]).drop(columns=["label"])))
    clean = _by_name(app.evaluate(_windows([window.iloc[10:]]).drop(columns=["label"])))
    assert got["rows"]["value"] == 390
    assert got["estimated_accuracy"]["value"] == pytest.approx(clean["estimated_accuracy"]["value"])
