"""The built-in monitoring applications (each also deployable as its own function under ``apps/``)."""

from __future__ import annotations

from modelmon.apps.builtin.data_quality import DataQualityApplication
from modelmon.apps.builtin.evidently_base import EvidentlyModelMonitoringApplicationBase
from modelmon.apps.builtin.evidently_drift import EvidentlyDataDriftApplication
from modelmon.apps.builtin.histogram_drift import HistogramDataDriftApplication
from modelmon.apps.builtin.model_performance import ModelPerformanceApplication
from modelmon.apps.builtin.multivariate_drift import MultivariateDriftApplication
from modelmon.apps.builtin.performance_estimation import PerformanceEstimationApplication
from modelmon.apps.builtin.system_performance import SystemPerformanceApplication

__all__ = [
    "DataQualityApplication",
    "EvidentlyDataDriftApplication",
    "EvidentlyModelMonitoringApplicationBase",
    "HistogramDataDriftApplication",
    "ModelPerformanceApplication",
    "MultivariateDriftApplication",
    "PerformanceEstimationApplication",
    "SystemPerformanceApplication",
]
