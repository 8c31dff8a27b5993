"""MLRun monitoring apps as their authors write them, with MLRun's imports, and the port to modelmon.

The apps are written for these tests to MLRun's published API (the context and artifact names of the
1.6 and 1.7 tutorials' demo apps and of the function hub's count app); :func:`port` changes only their
import lines, as ``docs/apps.md`` ("Porting from MLRun") tells users to.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

#: An MLRun 1.6 app: the long ``do_tracking`` signature, ``self.context`` and ``self.dict_to_histogram``.
SNAPSHOT_16 = '''
from typing import Union

import pandas as pd

from mlrun.artifacts import TableArtifact
from mlrun.common.model_monitoring.helpers import FeatureStats
from mlrun.common.schemas.model_monitoring.constants import ResultKindApp, ResultStatusApp
from mlrun.model_monitoring.application import ModelMonitoringApplicationBase, ModelMonitoringApplicationResult


class WindowSnapshot(ModelMonitoringApplicationBase):
    NAME = "window-snapshot"

    def do_tracking(
        self,
        application_name: str,
        sample_df_stats: FeatureStats,
        feature_stats: FeatureStats,
        sample_df: pd.DataFrame,
        start_infer_time: pd.Timestamp,
        end_infer_time: pd.Timestamp,
        latest_request: pd.Timestamp,
        endpoint_id: str,
        output_stream_uri: str,
    ) -> Union[ModelMonitoringApplicationResult, list[ModelMonitoringApplicationResult]]:
        self.context.logger.info("Taking a snapshot", endpoint_id=endpoint_id, rows=len(sample_df))
        self.context.log_artifact(TableArtifact(f"sample_df_{start_infer_time}", df=sample_df))
        window = self.dict_to_histogram(sample_df_stats)
        reference = self.dict_to_histogram(feature_stats)
        distance = float(((window - reference).abs().sum() / 2).max())
        return [
            ModelMonitoringApplicationResult(
                name="max_tvd", value=distance, kind=ResultKindApp.data_drift,
                status=ResultStatusApp.detected if distance > 0.5 else ResultStatusApp.no_detection,
            ),
            ModelMonitoringApplicationResult(
                name="first_x", value=float(sample_df["x"][0]), kind=ResultKindApp.mm_app_anomaly,
                status=ResultStatusApp.irrelevant,
            ),
        ]
'''

#: An MLRun 1.7+ app: ``do_tracking(monitoring_context)`` and the context's objects and logging methods.
REPORT_17 = '''
import json

import mlrun.model_monitoring.applications.context as mm_context
import mlrun.model_monitoring.applications.results as mm_results
from mlrun.artifacts import TableArtifact
from mlrun.common.schemas.model_monitoring.constants import ResultKindApp, ResultStatusApp
from mlrun.model_monitoring.applications import (
    ModelMonitoringApplicationBase,
    ModelMonitoringApplicationMetric,
    ModelMonitoringApplicationResult,
)


class EndpointReport(ModelMonitoringApplicationBase):
    NAME = "endpoint-report"

    def do_tracking(
        self, monitoring_context: mm_context.MonitoringApplicationContext
    ) -> list[mm_results.ModelMonitoringApplicationResult]:
        endpoint = monitoring_context.model_endpoint
        monitoring_context.logger.info(
            "Reporting on endpoint", name=endpoint.metadata.name, uid=endpoint.metadata.uid,
            features=endpoint.spec.feature_names,
        )
        monitoring_context.nuclio_logger.info("Reporting on endpoint")
        sample_df = monitoring_context.sample_df
        monitoring_context.log_artifact(
            TableArtifact(f"sample_df_{monitoring_context.start_infer_time}", df=sample_df),
            tag="latest", labels={"purpose": "audit"},
        )
        statistics = {"reference": monitoring_context.feature_stats, "window": monitoring_context.sample_df_stats}
        monitoring_context.log_artifact("statistics", body=json.dumps(statistics, allow_nan=False), format="json")
        monitoring_context.log_dataset(key="window_rows", df=sample_df, tag="latest")
        monitoring_context.log_model(
            "window_means", body=json.dumps(sample_df[endpoint.spec.feature_names].mean().to_dict()).encode(),
            framework="custom", metrics={"rows": len(sample_df)},
        )
        monitoring_context.project.log_artifact(
            "project_note", body=f"{monitoring_context.project.name}: {endpoint.metadata.name}", format="text"
        )
        window = monitoring_context.dict_to_histogram(monitoring_context.sample_df_stats)
        reference = monitoring_context.dict_to_histogram(monitoring_context.feature_stats)
        distances = (window - reference).abs().sum() / 2
        return [
            ModelMonitoringApplicationResult(
                name="max_tvd", value=float(distances.max()), kind=ResultKindApp.data_drift,
                status=ResultStatusApp.detected if distances.max() > 0.5 else ResultStatusApp.no_detection,
                extra_data={"feature": str(distances.idxmax()), "bins": len(window)},
            ),
            ModelMonitoringApplicationMetric(name="rows", value=len(sample_df)),
        ]
'''

#: The function hub's kind of count app: keyword logging and ``model_endpoint.metadata.name``.
COUNT_HUB = '''
import mlrun.model_monitoring.applications.context as mm_context
from mlrun.model_monitoring.applications import ModelMonitoringApplicationBase, ModelMonitoringApplicationMetric


class EventCounter(ModelMonitoringApplicationBase):
    def do_tracking(
        self, monitoring_context: mm_context.MonitoringApplicationContext
    ) -> ModelMonitoringApplicationMetric:
        rows = monitoring_context.sample_df
        monitoring_context.logger.debug("The window", sample_df=rows)
        monitoring_context.logger.info(
            "Events counted", endpoint_name=monitoring_context.model_endpoint.metadata.name, count=len(rows),
            start=monitoring_context.start_infer_time, end=monitoring_context.end_infer_time,
        )
        return ModelMonitoringApplicationMetric(name="count", value=len(rows))
'''

#: MLRun's import line → modelmon's: the only lines a port changes.
IMPORTS = {
    "from mlrun.artifacts import TableArtifact": "from modelmon import TableArtifact",
    "from mlrun.common.model_monitoring.helpers import FeatureStats":
        "from modelmon.apps.sdk.context import FeatureStats",
    "from mlrun.common.schemas.model_monitoring.constants import ResultKindApp, ResultStatusApp":
        "from modelmon import ResultKindApp, ResultStatusApp",
    "from mlrun.model_monitoring.application import ModelMonitoringApplicationBase, ModelMonitoringApplicationResult":
        "from modelmon import ModelMonitoringApplicationBase, ModelMonitoringApplicationResult",
    "import mlrun.model_monitoring.applications.context as mm_context":
        "import modelmon.apps.sdk.context as mm_context",
    "import mlrun.model_monitoring.applications.results as mm_results": "import modelmon.core.results as mm_results",
    "from mlrun.model_monitoring.applications import (": "from modelmon import (",
    "from mlrun.model_monitoring.applications import ModelMonitoringApplicationBase, ModelMonitoringApplicationMetric":
        "from modelmon import ModelMonitoringApplicationBase, ModelMonitoringApplicationMetric",
}

SOURCES = {"snapshot_16": SNAPSHOT_16, "report_17": REPORT_17, "count_hub": COUNT_HUB}


def port(source: str) -> tuple[str, list[str]]:
    """``source`` with its MLRun import lines replaced, and the lines that changed (all imports)."""
    lines, changed = [], []
    for line in source.splitlines():
        if line in IMPORTS:
            changed.append(line)
            line = IMPORTS[line]
        lines.append(line)
    return "\n".join(lines) + "\n", changed


def import_ported(folder: Path, module: str) -> ModuleType:
    """Write the port of ``SOURCES[module]`` as ``folder/<module>.py`` and import it (``folder`` on sys.path)."""
    ported, _ = port(SOURCES[module])
    (folder / f"{module}.py").write_text(ported)
    sys.modules.pop(module, None)
    return importlib.import_module(module)
