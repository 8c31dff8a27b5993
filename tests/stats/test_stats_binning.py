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


def _ulps_around(edges: np.ndarray, ulps: int) -> np.ndarray:
    """Every edge and the floats up to ``ulps`` steps below and above it."""
    values = [edges]
    below, above = edges.copy(), edges.copy()
    for _ in range(ulps):
        below, above = np.nextafter(below, -np.inf), np.nextafter(above, np.inf)
        values += [below, above]
    return np.concatenate(values)


@pytest.mark.parametrize("seed", range(6))
def test_values_a_few_ulps_from_edges_land_where_np_histogram_puts_them(seed):
    # The old 16-ulp margin sent values just below an edge to the bin above; np.histogram does not.
    rng = np.random.default_rng(seed)
    scale, loc = 10.0 ** rng.integers(-6, 7), rng.normal() * 10.0 ** rng.integers(0, 6)
    reference = rng.normal(loc, scale, 500)
    all_edges = [np.histogram_bin_edges(reference, bins=nb) for nb in (3, 7, 20, 33)]
    columns = [rng.permutation(np.concatenate([_ulps_around(e, 24), rng.normal(loc, scale, 1000)]))
               for e in all_edges]
    width = max(e.size for e in all_edges)
    columns = [np.resize(c, max(c.size for c in columns)) for c in columns]
    counts = NumericBinner(all_edges).count(columns)
    assert counts.shape == (4, width + 2)
    for i, (column, edges) in enumerate(zip(columns, all_edges, strict=True)):
        expected = _expected_slots(column, edges)
        assert counts[i, : len(expected)].tolist() == expected, (seed, i)


@pytest.mark.parametrize("seed", range(3))
def test_mlrun_binning_counts_the_last_edge_above_the_range(seed):
    # MLRun bins a window with np.histogram over [-max, *edges, +max]: a value equal to the last edge
    # falls in the closed outer bin [edges[-1], +max].
    rng = np.random.default_rng(seed)
    edges = [np.histogram_bin_edges(rng.normal(0, 1, 300), bins=20), np.histogram_bin_edges(np.arange(41.0), 20),
             np.array([-1.0, 0.0, 0.5, 3.0])]  # the last one uneven: the searchsorted path
    columns = [np.concatenate([_ulps_around(e, 3), rng.normal(0, 2, 997), [np.nan, np.inf, -np.inf]])
               for e in edges]
    columns = [np.resize(c, max(c.size for c in columns)) for c in columns]
    counts = NumericBinner(edges).count(columns, last_closed=False)
    for i, (column, e) in enumerate(zip(columns, edges, strict=True)):
        finite = column[np.isfinite(column)]
        padded, _ = np.histogram(finite, bins=[-np.finfo(float).max, *e, np.finfo(float).max])
        infinite = [int((column == -np.inf).sum()), int((column == np.inf).sum())]
        expected = [int(np.isnan(column).sum()), padded[0] + infinite[0], *padded[1:-1], padded[-1] + infinite[1]]
        assert counts[i, : e.size + 2].tolist() == expected, i
        assert counts[i, e.size] < NumericBinner([e]).count([column])[0, e.size] or e[-1] not in column


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


@pytest.mark.parametrize("n_features", [1, 2, 3, 5, 8])
def test_features_counted_in_pairs_each_match_np_histogram(n_features):
    # Features are counted two at a time (the first's slot times the width plus the second's); an odd one
    # out is counted alone. Rows with NaN, infinities or values far off the range take the float path.
    rng = np.random.default_rng(n_features)
    columns, edges = [], []
    for i in range(n_features):
        reference = rng.normal(10 * i, 1 + i, 2_000)
        values = rng.normal(10 * i + 0.3, 1 + i, 5_003)
        if i % 3 == 1:
            values[::11] = np.nan
        if i % 4 == 2:
            values[:4] = [np.inf, -np.inf, 1e300, -1e300]
        if i % 5 == 3:  # integer data on the edges (every value is near one), some missing
            reference, values = np.arange(21.0), rng.integers(-2, 24, 5_003).astype(float)
            values[::13] = np.nan
        columns.append(values)
        edges.append(np.histogram_bin_edges(reference, bins=int(rng.integers(2, 30))))
    for last_closed in (True, False):
        counts = NumericBinner(edges).count(columns, last_closed=last_closed)
        for i, (column, e) in enumerate(zip(columns, edges, strict=True)):
            expected = _expected_slots(column, e)
            if not last_closed:  # the last edge's values move above the range
                on_last = int((column == e[-1]).sum())
                expected[-2] -= on_last
                expected[-1] += on_last
            assert counts[i, : len(expected)].tolist() == expected, (n_features, i, last_closed)
            assert not counts[i, len(expected):].any()


def test_features_with_many_bins_are_counted_one_by_one_exactly():
    # 60 features of 500 bins: 30 pairs of 503² slot pairs would be too many counts, so each is counted alone.
    rng = np.random.default_rng(9)
    edges = [np.linspace(-3 - i, 3 + i, 501) for i in range(60)]
    columns = [rng.normal(0, 1 + i, 997) for i in range(60)]
    columns[7][:2] = [np.nan, 1e300]
    counts = NumericBinner(edges).count(columns)
    for i, (column, e) in enumerate(zip(columns, edges, strict=True)):
        assert counts[i].tolist() == _expected_slots(column, e), i
