"""modelmon: model monitoring for machine-learning models served as Nuclio functions.

Apps written for MLRun's model monitoring port by changing one import line::

    from modelmon import ModelMonitoringApplicationBase, ModelMonitoringApplicationResult
"""

from __future__ import annotations

from modelmon.application import ModelMonitoringApplicationBase, MonitoringApplicationContext
from modelmon.config import Settings
from modelmon.errors import (
    BackendError,
    BackendUnavailable,
    ConfigError,
    CorruptStore,
    InvalidEvent,
    ModelmonError,
    NotFound,
)
from modelmon.results import (
    ModelMonitoringApplicationMetric,
    ModelMonitoringApplicationResult,
    ResultKindApp,
    ResultStatusApp,
)

__version__ = "0.1.0"

__all__ = [
    "BackendError",
    "BackendUnavailable",
    "ConfigError",
    "CorruptStore",
    "InvalidEvent",
    "ModelMonitoringApplicationBase",
    "ModelMonitoringApplicationMetric",
    "ModelMonitoringApplicationResult",
    "ModelmonError",
    "MonitoringApplicationContext",
    "NotFound",
    "ResultKindApp",
    "ResultStatusApp",
    "Settings",
    "__version__",
]
