"""The statistics of performance estimation: isotonic calibration and CBPE's expected metrics and spreads."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.isotonic import IsotonicRegression

from modelmon.stats.calibration import IsotonicCalibrator, bootstrap_calibrators, expected_calibration_error
from modelmon.stats.cbpe import Estimate, Ranking, estimate_binary, expected_metrics, sampling_std


def test_isotonic_calibration_is_scikit_learns_fit():
    rng = np.random.default_rng(3)
    scores = np.round(rng.random(3000), 3)  # ties included
    outcomes = rng.random(3000) < scores**2
    ours = IsotonicCalibrator.fit(scores, outcomes)
    theirs = IsotonicRegression(out_of_bounds="clip").fit(scores, outcomes)
    grid = np.linspace(-0.2, 1.2, 1001)
    np.testing.assert_allclose(ours.predict(grid), theirs.predict(grid), atol=1e-12)
    assert np.all(np.diff(ours.predict(grid)) >= 0)
    assert ours.thresholds.size < np.unique(scores).size  # flat stretches kept by their ends only
    assert np.isnan(ours.predict(np.array([np.nan, 0.5]))[0])


def test_calibration_refuses_bad_input():
    with pytest.raises(ValueError, match="finite"):
        IsotonicCalibrator.fit([0.1, np.nan], [0, 1])
    with pytest.raises(ValueError, match="one length"):
        IsotonicCalibrator.fit([0.1, 0.2], [0, 1, 1])
    with pytest.raises(ValueError, match="no rows"):
        IsotonicCalibrator.fit([], [])


def test_expected_calibration_error_tells_probabilities_from_scores():
    rng = np.random.default_rng(4)
    p = rng.random(20_000)
    outcomes = rng.random(20_000) < p
    assert expected_calibration_error(p, outcomes) < 0.01
    assert expected_calibration_error(p**3, outcomes) > 0.15  # a score, not a probability


def test_expected_metrics_with_known_labels_are_the_realized_ones():
    rng = np.random.default_rng(5)
    scores = np.round(rng.random(500), 2)
    labels = rng.random(500) < scores
    predicted = scores >= 0.4
    got = expected_metrics(labels.astype(float), predicted, scores)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(labels, predicted))
    assert got["precision"] == pytest.approx(skm.precision_score(labels, predicted))
    assert got["recall"] == pytest.approx(skm.recall_score(labels, predicted))
    assert got["f1"] == pytest.approx(skm.f1_score(labels, predicted))
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(labels, scores))  # with tied scores


def test_expected_metrics_and_spreads_match_simulated_labels():
    rng = np.random.default_rng(6)
    scores = rng.random(400)
    p = scores**2
    predicted = scores >= 0.6
    estimates = estimate_binary(p, predicted, scores)
    labels = rng.random((4000, 400)) < p  # 4,000 windows of labels drawn with probabilities p
    tp = labels[:, predicted].sum(axis=1)
    positives = labels.sum(axis=1)
    ranks = np.argsort(np.argsort(scores)) + 1.0  # scores have no ties
    simulated = {
        "accuracy": (labels == predicted).mean(axis=1), "precision": tp / predicted.sum(),
        "recall": tp / positives, "f1": 2 * tp / (predicted.sum() + positives),
        "roc_auc": (labels @ ranks - positives * (positives + 1) / 2) / (positives * (400 - positives))}
    assert simulated["roc_auc"][0] == pytest.approx(skm.roc_auc_score(labels[0], scores))
    for name, values in simulated.items():
        assert estimates[name].value == pytest.approx(np.mean(values), abs=0.004), name
        # exact (accuracy, precision), delta method (recall, F1) or 200 simulated draws (ROC AUC)
        assert estimates[name].sampling_std == pytest.approx(np.std(values), rel=0.12), name
    assert estimates["accuracy"].sampling_std == pytest.approx(np.std(simulated["accuracy"]), rel=0.05)


def test_sampling_spread_is_deterministic_and_shrinks_with_the_window():
    rng = np.random.default_rng(7)
    scores = rng.random(4000)
    small = sampling_std(scores[:100], scores[:100] >= 0.5, Ranking.of(scores[:100]))
    large = sampling_std(scores, scores >= 0.5, Ranking.of(scores))
    assert small == sampling_std(scores[:100], scores[:100] >= 0.5, Ranking.of(scores[:100]))
    for name in small:
        assert large[name] < small[name] / 4, name  # about 1/sqrt(40) of it


def test_band_adds_the_calibration_spread_and_half_a_row():
    estimate = Estimate(0.9, sampling_std=0.03, calibration_std=0.04, rows=100)
    assert estimate.std == pytest.approx(0.05)
    assert estimate.band(2.0) == pytest.approx((0.9 - 0.105, 1.0))  # clipped at 1
    assert Estimate(None, 0.0).band(2.0) is None


def test_bootstrap_calibrators_spread_more_on_a_small_reference():
    rng = np.random.default_rng(8)

    def spread(n: int) -> float:
        scores = rng.random(n)
        outcomes = rng.random(n) < scores
        window = rng.random(1000)
        p = np.vstack([c.predict(window) for c in bootstrap_calibrators(scores, outcomes, 20, seed=1)])
        return float(np.std(p.mean(axis=1)))

    assert spread(200) > 2 * spread(5000)
