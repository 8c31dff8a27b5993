from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelmon.stats import METRICS, Reference, assess_drift, feature_stats, reference_for
from modelmon.stats.drift import CONSTANT_REFERENCE, EMPTY_WINDOW, MISSING_IN_REFERENCE, MISSING_IN_WINDOW
from modelmon.stats.null_threshold import null_thresholds, size_bucket

SCORE = METRICS["tvd_hellinger"]


def _frame(rng: np.random.Generator, n: int, n_features: int, shift: float = 0.0, shifted: int = 0) -> pd.DataFrame:
    """Mixed shapes: normal, exponential, uniform and small integers; the first `shifted` move by `shift` σ."""
    columns = {}
    for i in range(n_features):
        kind = i % 4
        if kind == 0:
            values, sigma = rng.normal(0, 1, n), 1.0
        elif kind == 1:
            values, sigma = rng.exponential(1, n), 1.0
        elif kind == 2:
            values, sigma = rng.uniform(0, 1, n), 1 / np.sqrt(12)
        else:
            values, sigma = rng.poisson(4, n).astype(float), 2.0
        columns[f"f{i}"] = values + (shift * sigma if i < shifted else 0.0)
    return pd.DataFrame(columns)


def _assess(reference_df: pd.DataFrame, window: pd.DataFrame, **kwargs):
    reference = reference_for(feature_stats(reference_df))
    return assess_drift(reference, reference.histograms(window), metric_name="tvd_hellinger", metric=SCORE, **kwargs)


def test_null_quantiles_shrink_with_the_window_and_match_the_measured_noise():
    # The issue measured the median no-drift score at 100 / 1,000 / 10,000 rows: 0.146 / 0.049 / 0.021.
    rng = np.random.default_rng(11)
    reference = reference_for(feature_stats(pd.DataFrame({"x": rng.normal(size=10_000)})))
    q99 = [null_thresholds(reference, np.array([0]), np.array([n]), metric_name="tvd_hellinger", metric=SCORE)[0]
           for n in (100, 1000, 10_000)]
    medians = [null_thresholds(reference, np.array([0]), np.array([n]), metric_name="tvd_hellinger", metric=SCORE,
                               quantile=0.5)[0] for n in (100, 1000, 10_000)]
    assert q99[0] > q99[1] > q99[2]
    assert medians == pytest.approx([0.146, 0.049, 0.021], rel=0.25)
    assert q99[0] > 0.1  # at 100 rows the noise floor, not the minimum effect size, sets the threshold


def test_null_quantiles_are_cached_and_deterministic():
    rng = np.random.default_rng(12)
    reference = reference_for(feature_stats(pd.DataFrame({"x": rng.normal(size=2000), "y": rng.normal(size=2000)})))
    first = null_thresholds(reference, np.array([0, 1]), np.array([500, 510]), metric_name="tvd_hellinger",
                            metric=SCORE, seed=3)
    cached = {k: v for k, v in reference.cache.items() if k[0] == "null"}
    assert len(cached) == 2 and {k[-1] for k in cached} == {500, 510}
    again = null_thresholds(reference, np.array([0, 1]), np.array([500, 510]), metric_name="tvd_hellinger",
                            metric=SCORE, seed=3)
    assert again.tolist() == first.tolist()
    assert size_bucket(5_432) == 5_400 and size_bucket(99) == 99


def test_five_shifted_features_out_of_twenty_are_exactly_the_drifted_ones():
    rng = np.random.default_rng(21)
    assessment = _assess(_frame(rng, 10_000, 20), _frame(rng, 10_000, 20, shift=0.5, shifted=5))
    assert [assessment.names[i] for i in np.flatnonzero(assessment.drifted)] == ["f0", "f1", "f2", "f3", "f4"]
    general = np.mean((assessment.distances["tvd"] + assessment.distances["hellinger"]) / 2)
    assert general < 0.5


@pytest.mark.slow  # calibration: many seeded windows per size
@pytest.mark.parametrize("rows", [100, 1000, 10_000])
def test_calibration_false_positives_stay_below_two_percent(rows):
    rng = np.random.default_rng(rows)
    flagged = total = 0
    for _ in range(2):
        reference_df = _frame(rng, 10_000, 40)
        for _ in range(6):
            assessment = _assess(reference_df, _frame(rng, rows, 40))
            flagged += int(assessment.drifted.sum())
            total += assessment.drifted.size
    assert total == 480
    assert flagged / total < 0.02


@pytest.mark.slow  # calibration: many seeded windows per size
@pytest.mark.parametrize("rows", [1000, 10_000])
def test_calibration_half_sigma_shift_is_detected(rows):
    rng = np.random.default_rng(rows + 1)
    reference_df = _frame(rng, 10_000, 40)
    detected = [_assess(reference_df, _frame(rng, rows, 40, shift=0.5, shifted=40)).drifted.mean() for _ in range(6)]
    assert np.mean(detected) >= 0.95


def test_features_that_cannot_be_compared_get_reasons_not_errors():
    rng = np.random.default_rng(4)
    reference_df = pd.DataFrame({"x": rng.normal(size=500), "const": 1.0, "gone": rng.normal(size=500),
                                 "allnan_ref": np.nan, "cat": rng.choice(["u", "v"], 500)})
    window = pd.DataFrame({"x": rng.normal(size=300), "const": 1.0, "cat": rng.choice(["u", "v"], 300),
                           "allnan_ref": 1.0, "new": 1.0})
    window.loc[:, "x"] = np.nan
    assessment = _assess(reference_df, window, expected_features=["x", "new"])
    reasons = assessment.reasons
    assert reasons["x"] == "no values in the window (all missing)"
    assert reasons["gone"] == MISSING_IN_WINDOW
    assert reasons["new"] == MISSING_IN_REFERENCE
    assert reasons["allnan_ref"].startswith("unusable reference: no values")
    scored = {assessment.names[i] for i in np.flatnonzero(assessment.scored)}
    assert scored == {"const", "cat"}
    assert assessment.notes == {"const": CONSTANT_REFERENCE}
    assert assessment.score[assessment.names.index("const")] == 0.0
    empty = _assess(reference_df, window.iloc[:0])
    assert not empty.scored.any() and empty.reasons["cat"] == EMPTY_WINDOW


def test_a_constant_feature_that_moves_is_drift():
    reference_df = pd.DataFrame({"c": np.full(1000, 5.0)})
    assessment = _assess(reference_df, pd.DataFrame({"c": np.full(1000, 7.0)}))
    assert assessment.drifted.tolist() == [True]
    assert assessment.distances["tvd"][0] == 1.0


@pytest.mark.parametrize("metric_name", ["tvd_hellinger", "tvd"])
def test_large_windows_skip_the_null_simulation_when_its_noise_is_bounded_below_the_effect_size(metric_name):
    """The bound replaces the simulation only where the simulated threshold is min_effect_size anyway."""
    rng = np.random.default_rng(13)
    reference_df, window = _frame(rng, 300_000, 4), _frame(rng, 300_000, 4)
    reference = Reference(feature_stats(reference_df))  # not the shared cache: its simulations are counted
    histograms = reference.histograms(window)
    metric = METRICS[metric_name]
    assessed = assess_drift(reference, histograms, metric_name=metric_name, metric=metric, min_effect_size=0.1)
    assert not [k for k in reference.cache if k[0] == "null"]  # nothing simulated
    assert assessed.threshold.tolist() == [0.1] * 4
    simulated = null_thresholds(reference, np.arange(4), histograms.totals, metric_name=metric_name, metric=metric)
    assert np.maximum(0.1, simulated).tolist() == [0.1] * 4  # what simulating would have given
    assert simulated.max() < 0.05


def test_windows_too_small_for_the_bound_and_other_metrics_are_simulated():
    rng = np.random.default_rng(14)
    reference = Reference(feature_stats(_frame(rng, 300_000, 2)))
    assess_drift(reference, reference.histograms(_frame(rng, 20_000, 2)), metric_name="tvd_hellinger", metric=SCORE)
    assert {k[-1] for k in reference.cache if k[0] == "null"} == {20_000}
    large = reference.histograms(_frame(rng, 300_000, 2))
    assess_drift(reference, large, metric_name="kld", metric=METRICS["kld"])
    assess_drift(reference, large, metric_name="tvd", metric=METRICS["tvd"], min_effect_size=0.005)
    assert {(k[1], k[-1]) for k in reference.cache if k[0] == "null"} == {
        ("tvd_hellinger", 20_000), ("kld", 300_000), ("tvd", 300_000)}


@pytest.mark.parametrize("metric_name", ["tvd", "psi", "tvd_hellinger"])
def test_a_named_distance_as_metric_scores_the_features_left_when_one_is_missing(metric_name):
    # The score of a metric that is also one of the distances was expanded to every feature twice: with a
    # feature missing from the window that failed (shape mismatch) instead of scoring the others.
    rng = np.random.default_rng(21)
    reference_df = _frame(rng, 2_000, 4)
    reference = reference_for(feature_stats(reference_df))
    window = _frame(rng, 1_000, 4, shift=1.0, shifted=1).drop(columns=["f2"])
    assessed = assess_drift(reference, reference.histograms(window), metric_name=metric_name,
                            metric=METRICS[metric_name])
    assert assessed.reasons == {"f2": MISSING_IN_WINDOW}
    assert np.isnan(assessed.score[2]) and not np.isnan(assessed.score[[0, 1, 3]]).any()
    expected = assessed.distances[metric_name] if metric_name != "tvd_hellinger" else \
        (assessed.distances["tvd"] + assessed.distances["hellinger"]) / 2
    assert np.array_equal(assessed.score, expected, equal_nan=True)
    whole = assess_drift(reference, reference.histograms(window.assign(f2=reference_df["f2"][:1_000])),
                         metric_name=metric_name, metric=METRICS[metric_name])
    assert assessed.score[[0, 1, 3]].tolist() == whole.score[[0, 1, 3]].tolist()
