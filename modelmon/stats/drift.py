"""Per-feature drift of one window against a reference: distances, scores, thresholds, and why not.

:func:`assess_drift` is the numeric core of the ``histogram-data-drift`` app, kept free of results and
statuses so that it can be tested and reused on its own. Features that cannot be compared are not
scored (NaN) and get a reason instead; nothing here raises for a missing, empty or constant feature.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from modelmon.core.arrays import BoolArray, FloatArray, IntArray
from modelmon.stats.distances import Distance, all_distances, normalise, tvd_hellinger
from modelmon.stats.null_threshold import null_thresholds, size_bucket
from modelmon.stats.reference import Reference, WindowHistograms

MISSING_IN_REFERENCE = "missing from the reference"
MISSING_IN_WINDOW = "missing from the window"
EMPTY_WINDOW = "empty window"
NO_WINDOW_VALUES = "no values in the window (all missing)"
CONSTANT_REFERENCE = "constant in the reference"


@dataclasses.dataclass(frozen=True)
class DriftAssessment:
    """Per-feature drift figures; arrays follow ``names`` and hold NaN for features not scored."""

    names: list[str]
    kinds: list[str]
    distances: dict[str, FloatArray]
    score: FloatArray
    threshold: FloatArray
    n_window: FloatArray
    n_reference: FloatArray
    reasons: dict[str, str]  #: why a feature is not scored
    notes: dict[str, str]  #: remarks on scored features (e.g. constant in the reference)

    @property
    def scored(self) -> BoolArray:
        """Which features have a score."""
        scored: BoolArray = ~np.isnan(self.score)
        return scored

    @property
    def drifted(self) -> BoolArray:
        """Scored features whose score is above their threshold."""
        with np.errstate(invalid="ignore"):
            return self.scored & (self.score > self.threshold)


def _unscored_reasons(reference: Reference, window: WindowHistograms, totals: IntArray) -> dict[int, str]:
    reasons: dict[int, str] = {}
    present, n_values = window.present.tolist(), totals.tolist()
    for i in range(len(reference)):
        if not present[i]:
            reasons[i] = MISSING_IN_WINDOW
        elif window.n_rows == 0:
            reasons[i] = EMPTY_WINDOW
        elif n_values[i] == 0:
            reasons[i] = NO_WINDOW_VALUES
    return reasons


#: Chance, over all draws of a simulation, that a bound of :func:`_noise_below` fails (a simulated score
#: above it): below this the simulation is skipped, its threshold being ``min_effect_size`` anyway.
_BOUND_FAILURE = 1e-9


def _noise_below(metric_name: str, min_effect_size: float, reference: Reference, rows: npt.NDArray[np.int64],
                 n_window: npt.NDArray[np.int64], draws: int) -> bool:
    """Whether the no-drift simulation of every feature of ``rows`` would stay below ``min_effect_size``
    (so that ``max(min_effect_size, null quantile)`` is ``min_effect_size``), by a bound rather than by
    simulating: what makes the first window of a new size cost several times a later one when windows
    are large (1M rows × 50 features: 1,000 multinomial draws of 1M per feature).

    For TVD between two samples of ``n`` and ``m`` values of one distribution over ``k`` slots, each
    sample's TVD to the distribution is below ``t/2`` but with probability ``2^k exp(-n t²/2)``
    (Bretagnolle–Huber–Carol), so ``P(TVD ≥ t) ≤ 2^k (exp(-n t²/2) + exp(-m t²/2))``; Hellinger is at most
    ``sqrt(TVD)``. Only TVD, Hellinger and their mean are bounded; the bound must hold for all draws
    together but with probability :data:`_BOUND_FAILURE`. Windows below ~200k rows are simulated.
    """
    effect = float(min_effect_size) * (1 - 1e-9)  # a margin for rounding in the computed scores
    if effect <= 0:
        return False
    if metric_name == "tvd":
        t = effect
    elif metric_name == "hellinger":
        t = effect**2
    elif metric_name == "tvd_hellinger":  # (t + sqrt(t)) / 2 <= effect
        t = ((math.sqrt(1 + 8 * effect) - 1) / 2) ** 2
    else:
        return False
    slots = (reference.probs[rows] > 0).sum(axis=1)
    sizes = np.minimum(np.array([size_bucket(n) for n in n_window.tolist()], dtype=np.float64),
                       np.rint(reference.totals[rows]))
    log_failure = math.log(draws) + slots * math.log(2) + math.log(2) - sizes * t * t / 2
    return bool(np.all(log_failure <= math.log(_BOUND_FAILURE)))


def _floor(reference: Reference, rows: npt.NDArray[np.int64], n_window: IntArray, *, metric_name: str,
           metric: Distance, min_effect_size: float, null_quantile: float | None, null_draws: int,
           seed: int) -> FloatArray:
    """Each feature's threshold ``max(min_effect_size, null quantile)``, kept on the reference per features and
    window sizes (rounded as :func:`size_bucket` rounds them): deciding it anew took a tenth of a small window."""
    floor = np.full(rows.size, float(min_effect_size))
    if null_quantile is None or not rows.size:
        return floor
    sizes = n_window.tolist()
    bucket_of = {n: size_bucket(n) for n in set(sizes)}
    key = ("floor", metric_name, float(min_effect_size), null_quantile, null_draws, seed, tuple(rows.tolist()),
           tuple(bucket_of[n] for n in sizes))
    known = reference.cache.get(key)
    if known is None:
        if not _noise_below(metric_name, min_effect_size, reference, rows, n_window, null_draws):
            floor = np.maximum(floor, null_thresholds(reference, rows, n_window, metric_name=metric_name,
                                                      metric=metric, quantile=null_quantile, draws=null_draws,
                                                      seed=seed))
        known = reference.cache[key] = floor
    return np.array(known)


def assess_drift(reference: Reference, window: WindowHistograms, *, metric_name: str, metric: Distance,
                 min_effect_size: float = 0.1, null_quantile: float | None = 0.99, null_draws: int = 1000,
                 seed: int = 0, expected_features: Iterable[str] = ()) -> DriftAssessment:
    """Distances and scores per feature, with the per-feature threshold ``max(min_effect_size, null quantile)``.

    ``expected_features`` (e.g. the endpoint's feature names) are reported as missing from the reference
    when the reference lacks them.
    """
    totals = window.totals
    unscored = _unscored_reasons(reference, window, totals)
    every = not unscored  # the common case: no row selection (copies) needed
    rows = np.arange(len(reference)) if every else \
        np.array([i for i in range(len(reference)) if i not in unscored], dtype=np.int64)
    p = normalise(window.counts if every else window.counts[rows])
    q = reference.probs if every else reference.probs[rows]
    n_window = totals.astype(np.float64)
    nan_column = np.full(len(reference), np.nan)

    def per_feature(values: FloatArray) -> FloatArray:
        if every:
            return values
        out = nan_column.copy()
        out[rows] = values
        return out

    scored_distances = all_distances(p, q)
    if metric_name in scored_distances:
        scores = scored_distances[metric_name].copy()  # its own array, as when it is computed
    elif metric is tvd_hellinger:  # the default: the same sum of the same two arrays as tvd_hellinger(p, q)
        scores = (scored_distances["tvd"] + scored_distances["hellinger"]) / 2.0
    else:
        scores = metric(p, q)
    distances = {name: per_feature(values) for name, values in scored_distances.items()}
    score = per_feature(scores)
    floor = _floor(reference, rows, totals if every else totals[rows], metric_name=metric_name, metric=metric,
                   min_effect_size=min_effect_size, null_quantile=null_quantile, null_draws=null_draws, seed=seed)
    reasons = {reference.names[i]: why for i, why in unscored.items()}
    reasons |= {name: f"unusable reference: {why}" for name, why in reference.invalid.items()}
    known = reference.name_set
    extra = [name for name in dict.fromkeys(expected_features) if name not in known and name not in reasons]
    reasons |= dict.fromkeys(extra, MISSING_IN_REFERENCE)
    constant = reference.constant.tolist()
    notes = {reference.names[i]: CONSTANT_REFERENCE for i in rows.tolist() if constant[i]}
    invalid = list(reference.invalid) + extra
    if not invalid:
        return DriftAssessment(names=list(reference.names), kinds=list(reference.kinds), distances=distances,
                               score=score, threshold=per_feature(floor), n_window=n_window,
                               n_reference=reference.totals.copy(), reasons=reasons, notes=notes)
    pad = np.full(len(invalid), np.nan)
    return DriftAssessment(
        names=reference.names + invalid,
        kinds=reference.kinds + ["unknown"] * len(invalid),
        distances={name: np.concatenate([values, pad]) for name, values in distances.items()},
        score=np.concatenate([score, pad]),
        threshold=np.concatenate([per_feature(floor), pad]),
        n_window=np.concatenate([n_window, pad]),
        n_reference=np.concatenate([reference.totals, pad]),
        reasons=reasons,
        notes=notes,
    )
