from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from modelmon import MonitoringApplicationContext, ResultKindApp, ResultStatusApp
from modelmon.apps.builtin import performance_metrics as pm
from modelmon.apps.builtin.model_performance import ModelPerformanceApplication
from modelmon.apps.sdk import run_application

TRUTH = [1, 0, 1, 1, 0, 1, 0, 0, 1, 1]
PRED = [1, 0, 0, 1, 0, 1, 1, 0, 1, 1]


def _classified(**extra) -> pd.DataFrame:
    return pd.DataFrame({"request_id": [f"r{i}" for i in range(10)], "prediction": PRED, "label": TRUTH, **extra})


def _by_name(results: pd.DataFrame) -> dict[str, pd.Series]:
    return {row["name"]: row for _, row in results.iterrows()}


def test_classification_metrics_and_degradation_against_reference():
    endpoint = {"reference_performance": {"accuracy": 0.95, "f1": 0.9}}
    got = _by_name(ModelPerformanceApplication(inputs_drifted=False).evaluate(_classified(), model_endpoint=endpoint))
    # 2 of 10 wrong; class 1: tp 5, 6 true, 6 predicted -> F1 = 10/12
    assert got["accuracy"]["value"] == pytest.approx(0.8)
    assert got["f1"]["value"] == pytest.approx(10 / 12)
    assert got["accuracy"]["extra_data"]["degradation"] == pytest.approx(0.15)
    assert got["accuracy"]["status"] == ResultStatusApp.detected  # drop 0.15 > 0.1
    assert got["f1"]["status"] == ResultStatusApp.potential_detection  # drop 0.067 in (0.05, 0.1]
    assert got["accuracy"]["kind"] == ResultKindApp.model_performance
    assert "roc_auc" not in got  # no score column
    assert got["labeled_rows"]["value"] == 10
    drift = got["concept_drift"]
    assert drift["status"] == ResultStatusApp.detected
    assert drift["value"] == pytest.approx(0.15)
    assert drift["kind"] == ResultKindApp.concept_drift
    assert drift["extra_data"]["degraded_metrics"] == ["accuracy", "f1"]


def test_concept_drift_is_not_claimed_when_inputs_drifted_or_unknown():
    endpoint = {"reference_performance": '{"accuracy": 0.95}'}  # JSON text, as the KV record stores it
    app = ModelPerformanceApplication(inputs_drifted=True)
    drifted = _by_name(app.evaluate(_classified(), model_endpoint=endpoint))
    assert drifted["concept_drift"]["status"] == ResultStatusApp.no_detection
    unknown = _by_name(ModelPerformanceApplication().evaluate(_classified(), model_endpoint=endpoint))
    assert unknown["concept_drift"]["status"] == ResultStatusApp.potential_detection
    assert unknown["concept_drift"]["extra_data"]["inputs_drifted"] is None


def _context(stats: dict, endpoint: dict) -> MonitoringApplicationContext:
    reference = {"x": {"hist": [[50, 50], [0.0, 0.5, 1.0]]}}
    return MonitoringApplicationContext(
        application_name="model-performance", project_name="p", endpoint_id="e",
        start_infer_time=pd.Timestamp(0, tz="UTC"), end_infer_time=pd.Timestamp(60_000, unit="ms", tz="UTC"),
        sample_df=_classified(x=np.linspace(0, 1, 10)), feature_stats=reference, model_endpoint=endpoint,
        stats_fn=lambda df, ref: stats,
    )


def test_input_drift_is_judged_by_the_largest_histogram_tvd():
    endpoint = {"reference_performance": {"accuracy": 0.95}}
    app = ModelPerformanceApplication()
    same = {"x": {"hist": [[5, 5], [0.0, 0.5, 1.0]]}}
    shifted = {"x": {"hist": [[1, 9], [0.0, 0.5, 1.0]]}}  # TVD 0.4 > 0.2
    results, _ = run_application(app, _context(same, endpoint))
    drift = {r.name: r for r in results}["concept_drift"]
    assert drift.status == ResultStatusApp.detected
    assert drift.extra_data["max_input_tvd"] == 0.0
    results, _ = run_application(app, _context(shifted, endpoint))
    drift = {r.name: r for r in results}["concept_drift"]
    assert drift.status == ResultStatusApp.no_detection
    assert drift.extra_data["max_input_tvd"] == pytest.approx(0.4)


def test_roc_auc_with_scores_matches_scikit_learn():
    rng = np.random.default_rng(7)
    truth = rng.integers(0, 2, 200)
    score = np.round(truth * 0.3 + rng.random(200), 1)  # rounded: many ties
    df = pd.DataFrame({"prediction": (score > 0.6).astype(int), "label": truth, "score": score})
    got = _by_name(ModelPerformanceApplication().evaluate(df))
    assert got["roc_auc"]["value"] == pytest.approx(skm.roc_auc_score(truth, score))
    assert got["f1"]["value"] == pytest.approx(skm.f1_score(truth, df["prediction"]))
    assert got["roc_auc"]["status"] == ResultStatusApp.irrelevant  # no reference performance
    assert got["roc_auc"]["extra_data"]["reason"] == "no reference performance for this metric"


def test_multiclass_f1_is_macro_averaged_like_scikit_learn():
    truth = np.array(["a", "b", "c", "a", "b", "c", "a", "a"])
    pred = np.array(["a", "b", "b", "a", "c", "c", "b", "a"])
    assert pm.f1(truth, pred) == pytest.approx(skm.f1_score(truth, pred, average="macro"))
    assert pm.accuracy(truth, pred) == pytest.approx(5 / 8)


def test_regression_metrics_by_hand():
    df = pd.DataFrame({"prediction": [1.5, 2.0, 2.0, 5.0], "label": [1.0, 2.0, 3.0, 4.0]})
    endpoint = {"reference_performance": {"mae": 0.5, "rmse": 0.5}}
    got = _by_name(ModelPerformanceApplication(min_labeled_rows=4, inputs_drifted=False).evaluate(
        df, model_endpoint=endpoint))
    assert got["mae"]["value"] == pytest.approx(0.625)  # (0.5 + 0 + 1 + 1) / 4
    assert got["rmse"]["value"] == pytest.approx(0.75)  # sqrt(2.25 / 4)
    assert got["r2"]["value"] == pytest.approx(0.55)  # 1 - 2.25 / 5
    assert got["mae"]["extra_data"]["degradation"] == pytest.approx(0.25)  # +25%
    assert got["mae"]["status"] == ResultStatusApp.potential_detection
    assert got["rmse"]["status"] == ResultStatusApp.detected  # +50%
    assert got["concept_drift"]["extra_data"]["metric"] == "rmse"
    assert got["concept_drift"]["value"] == pytest.approx(0.5)


def test_labels_joined_by_request_id_late_and_duplicated():
    rows = _classified().drop(columns="label")
    labels = pd.DataFrame({"request_id": ["r0", "r1", "r2", "r2", "zzz"], "label": [1, 0, 0, 1, 1]})
    got = _by_name(ModelPerformanceApplication(min_labeled_rows=3, task="classification").evaluate(
        rows, labels_df=labels))
    # r0 right, r1 right, r2: the last label (1) against prediction 0 -> wrong
    assert got["labeled_rows"]["value"] == 3
    assert got["accuracy"]["value"] == pytest.approx(2 / 3)


def test_no_labels_gives_irrelevant_results_never_an_exception():
    rows = _classified().drop(columns="label")
    endpoint = {"reference_performance": {"accuracy": 0.9}}
    got = _by_name(ModelPerformanceApplication().evaluate(rows, model_endpoint=endpoint))
    assert {name: row["status"] for name, row in got.items() if row["type"] == "result"} == {
        "accuracy": ResultStatusApp.irrelevant, "f1": ResultStatusApp.irrelevant,
        "roc_auc": ResultStatusApp.irrelevant, "concept_drift": ResultStatusApp.irrelevant}
    assert got["labeled_rows"]["value"] == 0
    empty = ModelPerformanceApplication().evaluate(pd.DataFrame())
    assert list(empty["name"]) == ["concept_drift", "labeled_rows"]


def test_prediction_column_defaults_to_the_first_label_name():
    df = _classified().rename(columns={"prediction": "p0"})
    got = _by_name(ModelPerformanceApplication().evaluate(df, label_names=["p0"]))
    assert got["accuracy"]["value"] == pytest.approx(0.8)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="task must be one of"):
        ModelPerformanceApplication(task="ranking")
    with pytest.raises(ValueError, match="reference_performance must be a dict"):
        ModelPerformanceApplication().evaluate(_classified(), model_endpoint={"reference_performance": [0.9]})
