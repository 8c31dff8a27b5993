"""The monitoring-application SDK: base class, context, runner, artifacts and thresholds."""

from __future__ import annotations

from modelmon.apps.sdk.artifacts import ArtifactInfo, ObjectStoreArtifactSink, list_artifacts
from modelmon.apps.sdk.base import ModelMonitoringApplicationBase, run_application
from modelmon.apps.sdk.context import MonitoringApplicationContext
from modelmon.apps.sdk.evaluate_windows import PartialWindowsWarning
from modelmon.apps.sdk.thresholds import Thresholds

__all__ = [
    "ArtifactInfo",
    "ModelMonitoringApplicationBase",
    "MonitoringApplicationContext",
    "ObjectStoreArtifactSink",
    "PartialWindowsWarning",
    "Thresholds",
    "list_artifacts",
    "run_application",
]
