"""The statistics of performance estimation: isotonic calibration and CBPE's expected metrics and spreads."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.isotonic import IsotonicRegression

from modelmon.stats.calibration import IsotonicCalibrator, calibration_helps, expected_calibration_error
from modelmon.stats.cbpe import Estimate, estimate_binary, expected_metrics


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
        # exact (accuracy, precision) or the delta method (recall, F1, ROC AUC)
        assert estimates[name].sampling_std == pytest.approx(np.std(values), rel=0.06), name
    assert estimates["accuracy"].sampling_std == pytest.approx(np.std(simulated["accuracy"]), rel=0.05)


def test_sampling_spread_shrinks_with_the_window():
    rng = np.random.default_rng(7)
    scores = rng.random(4000)
    small = estimate_binary(scores[:100], scores[:100] >= 0.5, scores[:100])
    large = estimate_binary(scores, scores >= 0.5, scores)
    for name in small:
        assert large[name].sampling_std < small[name].sampling_std / 4, name  # about 1/sqrt(40) of it
        assert large[name].calibration_std == 0.0  # no calibrator given


def test_band_adds_the_calibration_spread_and_half_a_row():
    estimate = Estimate(0.9, sampling_std=0.03, calibration_std=0.04, rows=100)
    assert estimate.std == pytest.approx(0.05)
    assert estimate.band(2.0) == pytest.approx((0.9 - 0.105, 1.0))  # clipped at 1
    assert Estimate(None, 0.0).band(2.0) is None


def test_calibration_spread_matches_refitting_on_new_references():
    """The calibration error the blocks' variances give is the spread of the estimate over calibrators
    fitted on independent references of the same size."""
    rng = np.random.default_rng(8)
    window = rng.random(2000)
    predicted = window >= 0.5

    def reference(n: int) -> IsotonicCalibrator:
        scores = rng.random(n)
        return IsotonicCalibrator.fit(scores, rng.random(n) < scores)

    for n in (300, 3000):
        refits = [estimate_binary(c.predict(window), predicted, window) for c in (reference(n) for _ in range(300))]
        one = reference(n)
        claimed = estimate_binary(one.predict(window), predicted, window, blocks=one.blocks_of(window),
                                  block_variance=one.block_variance)
        for name in ("accuracy", "f1", "roc_auc"):
            observed = np.std([r[name].value for r in refits])
            assert claimed[name].calibration_std == pytest.approx(observed, rel=0.2), (n, name)


def test_calibration_is_chosen_where_it_helps():
    rng = np.random.default_rng(9)
    p = rng.random(5000)
    outcomes = rng.random(5000) < p
    assert calibration_helps(p**3, outcomes)  # a score, not a probability
    assert calibration_helps(4 * p - 2, outcomes)  # a margin outside [0, 1]
    # probabilities already: either way is as good, and the choice goes both ways (31 of 40 calibrate)
    chosen = [calibration_helps(p, rng.random(5000) < p, seed=s) for s in range(40)]
    assert 0 < sum(chosen) < 40
