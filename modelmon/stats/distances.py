"""Distances between histograms, vectorised across features.

Every function takes two probability matrices of the same shape ``(features, bins)`` (each row sums to 1,
or is all zero for a feature that cannot be compared) and returns one value per feature. By MLRun's
convention ``p`` is the window ("actual") and ``q`` the reference ("expected"); all the distances here
except PSI's sign convention are symmetric anyway.

>>> p = np.array([[0.5, 0.5, 0.0]]); q = np.array([[0.0, 0.5, 0.5]])
>>> float(tvd(p, q)[0]), round(float(hellinger(p, q)[0]), 4)
(0.5, 0.7071)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from modelmon.core.arrays import FloatArray

#: MLRun replaces zeros of the expected distribution by this in KL divergence (and we do in PSI).
ZERO_SCALING = 1e-4

Distance = Callable[[FloatArray, FloatArray], FloatArray]


def normalise(counts: npt.ArrayLike) -> FloatArray:
    """Rows of ``counts`` divided by their sums; rows that sum to 0 stay 0."""
    values = np.asarray(counts, dtype=np.float64)
    totals = values.sum(axis=-1, keepdims=True)
    out: FloatArray = np.divide(values, totals, out=np.zeros_like(values), where=totals > 0)
    return out


def tvd(p: FloatArray, q: FloatArray) -> FloatArray:
    """Total variation distance ``Σ|p−q|/2``, in [0, 1]."""
    distance: FloatArray = np.abs(p - q).sum(axis=-1) / 2.0
    return distance


def hellinger(p: FloatArray, q: FloatArray) -> FloatArray:
    """Hellinger distance ``sqrt(max(1 − Σ sqrt(p·q), 0))``, in [0, 1].

    Computed as ``sqrt(Σ (√p − √q)² / 2)``, equal for distributions, because the subtraction from 1
    leaves a rounding residue of ~1e-8 where the distributions are identical.
    """
    distance: FloatArray = np.sqrt(np.minimum(((np.sqrt(p) - np.sqrt(q)) ** 2).sum(axis=-1) / 2.0, 1.0))
    return distance


def _kl(actual: FloatArray, expected: FloatArray, zero_scaling: float) -> FloatArray:
    """MLRun's one-way KL: terms where ``actual`` is 0 are dropped, zeros of ``expected`` become ``zero_scaling``."""
    safe_expected = np.where(expected > 0, expected, zero_scaling)
    ratio = np.divide(actual, safe_expected, out=np.ones_like(actual), where=actual > 0)
    divergence: FloatArray = (actual * np.log(ratio)).sum(axis=-1)
    return divergence


def kld(p: FloatArray, q: FloatArray, zero_scaling: float = ZERO_SCALING) -> FloatArray:
    """Symmetric Kullback–Leibler divergence ``KL(p‖q) + KL(q‖p)`` with MLRun's conventions (natural log)."""
    return _kl(p, q, zero_scaling) + _kl(q, p, zero_scaling)


def jensen_shannon(p: FloatArray, q: FloatArray) -> FloatArray:
    """Jensen–Shannon *distance* (square root of the divergence, base-2 logs), in [0, 1]."""
    m = (p + q) / 2.0
    divergence = (_kl(p, m, 1.0) + _kl(q, m, 1.0)) / (2.0 * np.log(2.0))  # m > 0 wherever p or q is
    distance: FloatArray = np.sqrt(np.clip(divergence, 0.0, 1.0))
    return distance


def psi(p: FloatArray, q: FloatArray, zero_scaling: float = ZERO_SCALING) -> FloatArray:
    """Population stability index ``Σ (p−q)·ln(p/q)``, zeros replaced by ``zero_scaling`` in the log."""
    safe_p = np.where(p > 0, p, zero_scaling)
    safe_q = np.where(q > 0, q, zero_scaling)
    index: FloatArray = ((p - q) * np.log(safe_p / safe_q)).sum(axis=-1)
    return index


def tvd_hellinger(p: FloatArray, q: FloatArray) -> FloatArray:
    """``(TVD + Hellinger) / 2``: MLRun's per-feature drift score, in [0, 1]."""
    return (tvd(p, q) + hellinger(p, q)) / 2.0


#: The per-feature metrics an application can be configured with, by name.
METRICS: dict[str, Distance] = {
    "tvd": tvd,
    "hellinger": hellinger,
    "kld": kld,
    "jensen_shannon": jensen_shannon,
    "psi": psi,
    "tvd_hellinger": tvd_hellinger,
}


def all_distances(p: FloatArray, q: FloatArray) -> dict[str, FloatArray]:
    """Every distance of :data:`METRICS` except the combined score, keyed by name."""
    return {name: fn(p, q) for name, fn in METRICS.items() if name != "tvd_hellinger"}
