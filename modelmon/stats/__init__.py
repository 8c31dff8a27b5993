"""Statistics for monitoring: reference ``feature_stats``, window histograms over reference bins, distances.

The reference side is prepared once (:func:`reference_for` caches a :class:`Reference` per distinct
``feature_stats``) and each window is counted in one vectorised pass over its numeric columns.
"""

from __future__ import annotations

from modelmon.stats.distances import METRICS, hellinger, jensen_shannon, kld, psi, tvd, tvd_hellinger
from modelmon.stats.drift import DriftAssessment, assess_drift
from modelmon.stats.feature_stats import feature_stats
from modelmon.stats.reference import Reference, reference_for
from modelmon.stats.sample_stats import sample_df_stats

__all__ = [
    "METRICS",
    "DriftAssessment",
    "Reference",
    "assess_drift",
    "feature_stats",
    "hellinger",
    "jensen_shannon",
    "kld",
    "psi",
    "reference_for",
    "sample_df_stats",
    "tvd",
    "tvd_hellinger",
]
