"""The built-in monitoring applications (each also deployable as its own function under ``apps/``)."""

from __future__ import annotations

from modelmon.apps.histogram_drift import HistogramDataDriftApplication

__all__ = [
    "HistogramDataDriftApplication",
]
