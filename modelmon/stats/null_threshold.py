"""How large a drift score gets by chance alone, for a given window size: per-feature thresholds.

Histogram distances have a noise floor that grows as windows shrink: two samples of one distribution
are never exactly alike. The *null quantile* of a feature's score is the ``quantile`` (e.g. 99th
percentile) of the score between a window of ``n_window`` rows and a reference of ``n_ref`` rows when
both are drawn from the reference histogram itself (multinomial draws). A score above it is unlikely to
be noise. All features with the same window size are simulated in one vectorised call, and results are
cached on the :class:`~modelmon.stats.reference.Reference` by (metric, feature, window size), the
reference fixing ``n_ref``.

Window sizes are rounded *down* to two significant digits (1,234 → 1,200) before simulating, so that
windows of slightly different sizes share the cache; a smaller size only makes the threshold a little
higher (more conservative).
"""

from __future__ import annotations

import numpy as np

from modelmon.core.arrays import FloatArray, IntArray
from modelmon.stats.distances import Distance, normalise
from modelmon.stats.reference import Reference

#: Cap on the simulated counts held at once (values), bounding memory for very many features.
_MAX_DRAWN = 1 << 22


def size_bucket(n: int) -> int:
    """``n`` rounded down to two significant digits (exact below 100).

    >>> size_bucket(87), size_bucket(1234), size_bucket(987_654)
    (87, 1200, 980000)
    """
    n = int(n)
    if n < 100:
        return n
    step: int = 10 ** (len(str(n)) - 2)
    return n // step * step


def simulate_null_scores(probs: FloatArray, n_ref: IntArray, n_window: int, metric: Distance, draws: int,
                         rng: np.random.Generator) -> FloatArray:
    """``draws`` scores of ``metric`` per row of ``probs`` (shape ``(draws, rows)``) between samples of
    ``n_window`` and ``n_ref`` values of it; rows are drawn in groups to bound the counts held at once."""
    out = np.empty((draws, probs.shape[0]))
    group = max(1, _MAX_DRAWN // (draws * probs.shape[1]))
    for start in range(0, probs.shape[0], group):
        p = probs[start : start + group]
        window = rng.multinomial(n_window, p, size=(draws, p.shape[0]))
        reference = rng.multinomial(n_ref[start : start + group], p, size=(draws, p.shape[0]))
        out[:, start : start + group] = metric(normalise(window), normalise(reference))
    return out


def simulate_null_quantiles(probs: FloatArray, n_ref: IntArray, n_window: int, metric: Distance,
                            quantile: float, draws: int, rng: np.random.Generator) -> FloatArray:
    """The ``quantile`` of ``metric`` between ``n_window``- and ``n_ref``-row samples of each row of ``probs``."""
    scores = simulate_null_scores(probs, n_ref, n_window, metric, draws, rng)
    return np.asarray(np.quantile(scores, quantile, axis=0), dtype=np.float64)


def null_thresholds(reference: Reference, features: IntArray, n_window: IntArray, *,
                    metric_name: str, metric: Distance, quantile: float = 0.99, draws: int = 1000,
                    seed: int = 0) -> FloatArray:
    """Null quantiles of ``metric`` for reference rows ``features`` with windows of ``n_window`` values each.

    Cached on ``reference``; features sharing a window size are simulated together.
    """
    features = np.asarray(features, dtype=np.int64)
    buckets = np.array([size_bucket(n) for n in n_window], dtype=np.int64)
    out = np.empty(features.size)
    missing: dict[int, list[int]] = {}
    for k, (feature, bucket) in enumerate(zip(features.tolist(), buckets.tolist(), strict=True)):
        key = ("null", metric_name, quantile, draws, seed, feature, bucket)
        if key in reference.cache:
            out[k] = reference.cache[key]
        else:
            missing.setdefault(bucket, []).append(k)
    for bucket, positions in missing.items():
        rows = features[positions]
        rng = np.random.default_rng([seed, bucket, *rows.tolist()])
        n_ref = np.rint(reference.totals[rows]).astype(np.int64)
        values = simulate_null_quantiles(reference.probs[rows], n_ref, bucket, metric, quantile, draws, rng)
        for k, row, value in zip(positions, rows.tolist(), values.tolist(), strict=True):
            reference.cache[("null", metric_name, quantile, draws, seed, row, bucket)] = value
            out[k] = value
    return out
