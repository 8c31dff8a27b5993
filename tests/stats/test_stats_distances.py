from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats
from scipy.spatial.distance import jensenshannon

from modelmon.stats import (
    METRICS,
    feature_stats,
    hellinger,
    jensen_shannon,
    kld,
    psi,
    reference_for,
    tvd,
    tvd_hellinger,
)
from modelmon.stats.distances import normalise


def _window_vs_reference(reference: pd.DataFrame, window: pd.DataFrame, bins: int = 20):
    ref = reference_for(feature_stats(reference, bins=bins))
    return normalise(ref.histograms(window).counts), ref.probs


def test_two_normals_half_sigma_apart_match_the_closed_forms():
    rng = np.random.default_rng(7)
    n = 2_000_000
    p, q = _window_vs_reference(pd.DataFrame({"x": rng.normal(0, 1, n)}),
                                pd.DataFrame({"x": rng.normal(0.5, 1, n)}), bins=200)
    exact_tvd = 2 * scipy_stats.norm.cdf(0.25) - 1  # 0.1974
    exact_hellinger = math.sqrt(1 - math.exp(-0.5**2 / 8))  # 0.1754
    assert exact_tvd == pytest.approx(0.197, abs=5e-4)
    assert exact_hellinger == pytest.approx(0.176, abs=1e-3)
    assert tvd(p, q)[0] == pytest.approx(exact_tvd, abs=3e-3)
    assert hellinger(p, q)[0] == pytest.approx(exact_hellinger, abs=3e-3)


def test_twenty_bins_lose_little_of_the_distance():
    # With MLRun's 20 bins the histogram distances are a little below the continuous ones.
    rng = np.random.default_rng(8)
    n = 1_000_000
    p, q = _window_vs_reference(pd.DataFrame({"x": rng.normal(0, 1, n)}), pd.DataFrame({"x": rng.normal(0.5, 1, n)}))
    assert 0.185 < tvd(p, q)[0] < 0.1975
    assert 0.168 < hellinger(p, q)[0] < 0.177


def test_identical_inputs_give_zero_for_every_metric():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"a": rng.normal(size=5000), "b": rng.exponential(size=5000), "c": rng.choice(list("xyz"), 5000)})
    p, q = _window_vs_reference(df, df)
    for name, metric in METRICS.items():
        assert np.all(metric(p, q) == 0.0), name


def test_disjoint_supports_give_tvd_and_hellinger_one():
    p = np.array([[0.5, 0.5, 0.0, 0.0]])
    q = np.array([[0.0, 0.0, 0.25, 0.75]])
    assert tvd(p, q)[0] == 1.0
    assert hellinger(p, q)[0] == 1.0
    assert jensen_shannon(p, q)[0] == pytest.approx(1.0)


def test_disjoint_window_beyond_the_reference_range_lands_in_the_open_bins():
    p, q = _window_vs_reference(pd.DataFrame({"x": np.linspace(0, 1, 1000)}),
                                pd.DataFrame({"x": np.linspace(5, 6, 1000)}))
    assert p[0, -1] == 1.0  # everything in the "over" bin
    assert tvd(p, q)[0] == 1.0


def test_kld_follows_mlruns_conventions():
    actual = np.array([[0.5, 0.5, 0.0]])
    expected = np.array([[1.0, 0.0, 0.0]])
    # KL(actual‖expected): the zero of `expected` under actual's 0.5 becomes 1e-4; actual's zero term is dropped.
    forward = 0.5 * math.log(0.5 / 1.0) + 0.5 * math.log(0.5 / 1e-4)
    # KL(expected‖actual): only the first term, where expected > 0.
    backward = 1.0 * math.log(1.0 / 0.5)
    assert kld(actual, expected)[0] == pytest.approx(forward + backward, rel=1e-12)
    assert kld(expected, actual)[0] == pytest.approx(forward + backward, rel=1e-12)
    assert kld(actual, expected, zero_scaling=1e-6)[0] > kld(actual, expected)[0]


def test_distances_match_scipy_on_random_histograms():
    rng = np.random.default_rng(3)
    p = normalise(rng.random((6, 22)))
    q = normalise(rng.random((6, 22)))
    expected_kl = [scipy_stats.entropy(a, b) + scipy_stats.entropy(b, a) for a, b in zip(p, q, strict=True)]
    np.testing.assert_allclose(kld(p, q), expected_kl, rtol=1e-12)
    np.testing.assert_allclose(jensen_shannon(p, q), [jensenshannon(a, b, base=2) for a, b in zip(p, q, strict=True)],
                               rtol=1e-9)
    np.testing.assert_allclose(psi(p, q), ((p - q) * np.log(p / q)).sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(tvd_hellinger(p, q), (tvd(p, q) + hellinger(p, q)) / 2)


def test_psi_replaces_zeros_in_the_log():
    p = np.array([[1.0, 0.0]])
    q = np.array([[0.5, 0.5]])
    assert psi(p, q)[0] == pytest.approx(0.5 * math.log(2) + (-0.5) * math.log(1e-4 / 0.5))


def test_normalise_keeps_empty_rows_at_zero():
    out = normalise(np.array([[0, 0, 0], [1, 3, 0]]))
    assert out.tolist() == [[0.0, 0.0, 0.0], [0.25, 0.75, 0.0]]
