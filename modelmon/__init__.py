"""modelmon: model monitoring for machine-learning models served as Nuclio functions.

Apps written for MLRun's model monitoring port by changing one import line::

    from modelmon import ModelMonitoringApplicationBase, ModelMonitoringApplicationResult
"""

from __future__ import annotations

from modelmon.apps.builtin.evidently_base import EvidentlyModelMonitoringApplicationBase
from modelmon.apps.sdk import ModelMonitoringApplicationBase, MonitoringApplicationContext
from modelmon.apps.sdk.artifact_items import Artifact, PlotlyArtifact, TableArtifact
from modelmon.apps.sdk.base import ModelMonitoringApplicationBaseV2
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
    ModelMonitoringApplicationStats,
    ResultKindApp,
    ResultStatusApp,
    StatsKind,
    _ModelMonitoringApplicationStats,  # noqa: F401  (MLRun's name, for apps importing it)
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
    "Artifact",
    "BackendError",
    "BackendUnavailable",
    "ConfigError",
    "CorruptStore",
    "EvidentlyModelMonitoringApplicationBase",
    "InvalidEvent",
    "ModelMonitoringApplicationBase",
    "ModelMonitoringApplicationBaseV2",
    "ModelMonitoringApplicationMetric",
    "ModelMonitoringApplicationResult",
    "ModelMonitoringApplicationStats",
    "ModelmonError",
    "MonitoringApplicationContext",
    "NotFound",
    "PlotlyArtifact",
    "Project",
    "ResultKindApp",
    "ResultStatusApp",
    "Settings",
    "StatsKind",
    "TableArtifact",
    "__version__",
    "get_or_create_project",
]
