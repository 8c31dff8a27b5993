from __future__ import annotations

import numpy as np
import pytest

from modelmon.stats.binning import NumericBinner


def _expected_slots(values: np.ndarray, edges: np.ndarray) -> list[int]:
    """Reference answer with np.histogram: [NaN, under, inner…, over], the last inner bin closed."""
    finite = values[~np.isnan(values)]
    inner, _ = np.histogram(finite[(finite >= edges[0]) & (finite <= edges[-1])], bins=edges)
    return [int(np.isnan(values).sum()), int((finite < edges[0]).sum()), *inner.tolist(),
            int((finite > edges[-1]).sum())]


def test_many_features_match_np_histogram_exactly():
    rng = np.random.default_rng(0)
    columns = [rng.normal(i, 1 + i, 50_001) for i in range(6)]
    columns[1][::5] = np.nan
    columns[2][:3] = [np.inf, -np.inf, np.inf]
    edges = [np.histogram_bin_edges(c[np.isfinite(c)][:20_000], bins=20) for c in columns]
    edges[3] = np.array([-10.0, 0.0, 0.5, 3.0, 9.0])  # uneven: the searchsorted path
    counts = NumericBinner(edges).count(columns)
    for i, (column, e) in enumerate(zip(columns, edges, strict=True)):
        expected = _expected_slots(column, e)
        assert counts[i, : len(expected)].tolist() == expected, i


def test_values_on_edges_land_where_np_histogram_puts_them():
    # Integer-valued features sit on edges all the time: the min, every interior edge and the max.
    for lo, hi, nb in [(0.1, 0.7, 20), (0, 100, 20), (-3, 17, 20), (0, 7, 3), (1e6, 1e6 + 19, 19)]:
        edges = np.linspace(lo, hi, nb + 1)
        values = np.concatenate([edges, edges[[0]] - 1e-9 * (hi - lo), edges[[-1]] + 1e-9 * (hi - lo)])
        counts = NumericBinner([edges]).count([values])[0]
        assert counts[: nb + 3].tolist() == _expected_slots(values, edges), (lo, hi, nb)


def test_integer_data_matches_np_histogram():
    rng = np.random.default_rng(5)
    column = rng.integers(0, 41, 100_000).astype(float)
    edges = np.histogram_bin_edges(column, bins=20)  # every edge is an integer that occurs in the data
    counts = NumericBinner([edges]).count([column])[0]
    assert counts.tolist() == _expected_slots(column, edges)


def test_zero_width_range_is_one_closed_bin():
    counts = NumericBinner([np.array([3.0, 3.0])]).count([np.array([2.0, 3.0, 3.0, 4.0, np.nan])])
    assert counts.tolist() == [[1, 1, 2, 1]]


def test_integer_and_boolean_columns_are_binned_as_numbers():
    counts = NumericBinner([np.array([0.0, 1.0, 2.0])] * 2).count(
        [np.array([0, 1, 2, 5]), np.array([True, False, True, True])])
    assert counts.tolist() == [[0, 0, 1, 2, 1], [0, 0, 1, 3, 0]]


def test_far_from_zero_edges_keep_their_precision():
    edges = np.linspace(1e15, 1e15 + 20, 21)
    values = 1e15 + np.arange(0.5, 20, 1.0)
    counts = NumericBinner([edges]).count([values])[0]
    assert counts[2:-1].tolist() == [1] * 20


def test_chunking_does_not_change_the_counts():
    rng = np.random.default_rng(2)
    column = rng.normal(size=2_000_003)  # more rows than one chunk holds
    edges = np.linspace(-3, 3, 13)
    counts = NumericBinner([edges]).count([column])[0]
    assert counts[: 15].tolist() == _expected_slots(column, edges)


def test_bad_edges_are_rejected_with_a_clear_message():
    with pytest.raises(ValueError, match="edges #1"):
        NumericBinner([np.array([0.0, 1.0]), np.array([2.0, 1.0])])
    with pytest.raises(ValueError, match="edges #0"):
        NumericBinner([np.array([0.0, np.inf])])
    with pytest.raises(ValueError, match="expected 1 columns"):
        NumericBinner([np.array([0.0, 1.0])]).count([])
