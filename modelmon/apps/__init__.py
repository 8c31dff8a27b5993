"""The built-in monitoring applications (each also deployable as its own function under ``apps/``)."""

from __future__ import annotations

from modelmon.apps.data_quality import DataQualityApplication
from modelmon.apps.evidently_base import EvidentlyModelMonitoringApplicationBase
from modelmon.apps.evidently_drift import EvidentlyDataDriftApplication
from modelmon.apps.histogram_drift import HistogramDataDriftApplication
from modelmon.apps.model_performance import ModelPerformanceApplication
from modelmon.apps.system_performance import SystemPerformanceApplication

__all__ = [
    "DataQualityApplication",
    "EvidentlyDataDriftApplication",
    "EvidentlyModelMonitoringApplicationBase",
    "HistogramDataDriftApplication",
    "ModelPerformanceApplication",
    "SystemPerformanceApplication",
]
