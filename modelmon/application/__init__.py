"""The monitoring-application SDK: base class, context and the runner."""

from __future__ import annotations

from modelmon.application.base import ModelMonitoringApplicationBase, normalise_output, run_application
from modelmon.application.context import FeatureStats, MonitoringApplicationContext

__all__ = [
    "FeatureStats",
    "ModelMonitoringApplicationBase",
    "MonitoringApplicationContext",
    "normalise_output",
    "run_application",
]
