"""modelmon: model monitoring for machine-learning models served as Nuclio functions.

Apps written for MLRun's model monitoring port by changing one import line::

    from modelmon import ModelMonitoringApplicationBase, ModelMonitoringApplicationResult
"""

from __future__ import annotations

from modelmon.apps.sdk import ModelMonitoringApplicationBase, MonitoringApplicationContext
from modelmon.core.config import Settings
from modelmon.core.errors import (
    BackendError,
    BackendUnavailable,
    ConfigError,
    CorruptStore,
    InvalidEvent,
    ModelmonError,
    NotFound,
)
from modelmon.core.results import (
    ModelMonitoringApplicationMetric,
    ModelMonitoringApplicationResult,
    ResultKindApp,
    ResultStatusApp,
)

__version__ = "0.1.0"


_LAZY = ("Project", "get_or_create_project")


def __getattr__(name: str) -> object:
    """The project SDK loads on first use: it imports nuclio-jupyter, which is slow to import."""
    if name in _LAZY:
        from modelmon import project

        return getattr(project, name)
    raise AttributeError(f"module 'modelmon' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The lazily loaded names too (PEP 562), so ``dir(modelmon)`` shows the whole public surface."""
    return sorted({*globals(), *_LAZY})


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
    "Project",
    "ResultKindApp",
    "ResultStatusApp",
    "Settings",
    "__version__",
    "get_or_create_project",
]
