"""The monitoring-application SDK: base class, context, runner, artifacts and thresholds."""

from __future__ import annotations

from modelmon.apps.sdk.artifacts import (
    ArtifactInfo,
    ObjectStoreArtifactSink,
    check_artifact_name,
    list_artifacts,
)
from modelmon.apps.sdk.base import ModelMonitoringApplicationBase, normalise_output, run_application
from modelmon.apps.sdk.context import ArtifactSink, FeatureStats, MonitoringApplicationContext
from modelmon.apps.sdk.thresholds import Thresholds

__all__ = [
    "ArtifactInfo",
    "ArtifactSink",
    "FeatureStats",
    "ModelMonitoringApplicationBase",
    "MonitoringApplicationContext",
    "ObjectStoreArtifactSink",
    "Thresholds",
    "check_artifact_name",
    "list_artifacts",
    "normalise_output",
    "run_application",
]
