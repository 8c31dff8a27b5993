"""An Evidently app written to MLRun 1.9+'s API (issue 21), its imports changed to modelmon: MLRun's constructor
arguments (``evidently_project_id``, ``evidently_workspace_path``, ``cloud_workspace``), a project made in
``load_project``, runs added to the workspace, HTML reports as MLRun writes them and the project dashboard."""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd
import pytest
from evidently import Report
from evidently.presets import DataDriftPreset

from modelmon import (
    EvidentlyModelMonitoringApplicationBase,
    ModelMonitoringApplicationResult,
    ResultKindApp,
    ResultStatusApp,
)
from modelmon.apps.builtin.evidently_base import EvidentlyCloudWarning
from modelmon.apps.sdk import list_artifacts
from modelmon.testing import InMemoryObjectStore

T0 = 1_764_516_000_000
MINUTE = 60_000


class DemoEvidentlyMonitoringApp(EvidentlyModelMonitoringApplicationBase):
    """As MLRun's Evidently demo: a drift report per window, added to the project, logged as HTML, and the
    project's dashboard of the runs so far."""

    NAME = "evidently-app-test"

    def __init__(self, evidently_project_id=None, evidently_workspace_path=None, cloud_workspace=False) -> None:
        rng = np.random.default_rng(5)
        self.train_set = pd.DataFrame({"sepal": rng.normal(5, 1, 300), "petal": rng.normal(1, 0.3, 300)})
        super().__init__(evidently_project_id=evidently_project_id, evidently_workspace_path=evidently_workspace_path,
                         cloud_workspace=cloud_workspace)

    def load_project(self):
        project = self.evidently_workspace.create_project("Iris Monitoring")
        self.evidently_project_id = project.id
        return project

    def do_tracking(self, monitoring_context):
        project = self.evidently_project  # loads (creates) the project on first use
        sample_df = monitoring_context.sample_df[list(self.train_set.columns)]
        run = Report([DataDriftPreset()]).run(sample_df.reset_index(drop=True), self.train_set,
                                              timestamp=monitoring_context.end_infer_time.tz_localize(None))
        self.evidently_workspace.add_run(project.id, run)
        self.log_evidently_object(monitoring_context, run, "evidently_report")
        self.log_project_dashboard(monitoring_context, monitoring_context.start_infer_time - pd.Timedelta(hours=1),
                                   monitoring_context.end_infer_time)
        return ModelMonitoringApplicationResult(name="data_drift_test", value=0.5, kind=ResultKindApp.data_drift,
                                                status=ResultStatusApp.potential_detection)


def _traffic(minutes: int) -> pd.DataFrame:
    rng = np.random.default_rng(9)
    rows = minutes * 20
    return pd.DataFrame({"timestamp": T0 + np.arange(rows) * (MINUTE // 20), "sepal": rng.normal(6, 1, rows),
                         "petal": rng.normal(1, 0.3, rows)})


@pytest.mark.slow  # two Evidently reports and their HTML: a few seconds
def test_the_demo_app_logs_html_reports_and_a_dashboard_of_its_project_runs(tmp_path):
    objects = InMemoryObjectStore()
    app = DemoEvidentlyMonitoringApp(evidently_workspace_path=str(tmp_path / "workspace"))
    out = app.evaluate(_traffic(20), base_period=10, start=T0, end=T0 + 20 * MINUTE, objects=objects)
    assert out[["name", "value", "status_name"]].to_dict("records") == [
        {"name": "data_drift_test", "value": 0.5, "status_name": "potential_detection"}] * 2
    assert len(app.evidently_workspace.list_runs(app.evidently_project_id)) == 2

    stored = list_artifacts(objects, "evaluate")
    assert sorted((a.name, a.format, a.start_ms - T0) for a in stored) == [
        ("dashboard", "html", 0), ("dashboard", "html", 10 * MINUTE),
        ("evidently_report", "html", 0), ("evidently_report", "html", 10 * MINUTE)]
    report = objects.get_object(stored[-1].path).decode()
    assert report.lstrip().startswith("<!DOCTYPE html>") and report.rstrip().endswith("</html>")
    dashboards = {a.start_ms: objects.get_object(a.path).decode() for a in stored if a.name == "dashboard"}
    assert "<p>1 run(s)</p>" in dashboards[T0] and "<p>2 run(s)</p>" in dashboards[T0 + 10 * MINUTE]


def test_a_cloud_workspace_is_a_local_one_under_the_home_with_a_warning(home):
    with pytest.warns(EvidentlyCloudWarning, match=r"local workspace \S+/evidently-workspace, not in Evidently Cloud"):
        app = DemoEvidentlyMonitoringApp(evidently_project_id=str(uuid.uuid4()), cloud_workspace=True)
    assert app.evidently_workspace_path == str(home / "evidently-workspace")
    assert app.evidently_project.name == "Iris Monitoring"
    assert (home / "evidently-workspace").is_dir()


def test_a_project_id_without_a_workspace_says_how_to_give_one():
    with pytest.raises(ValueError, match=r"evidently_workspace_path \(a local directory\), or cloud_workspace=True"):
        DemoEvidentlyMonitoringApp(evidently_project_id="abc")
