"""Registering one app touches only that app (issue 21): a broken app is refused with its own error and
leaves no trace, later registrations work, each starts only its own function, and a broken new version
of a registered app brings its running version back instead of leaving it failed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import modelmon
from modelmon.core.errors import DeploymentFailed
from modelmon.service import wait_for_versions

REPO = Path(__file__).resolve().parents[2]

GOOD = '''
from modelmon import ModelMonitoringApplicationBase, ModelMonitoringApplicationMetric


class {name}(ModelMonitoringApplicationBase):
    def __init__(self, limit: int = 1) -> None:
        self.limit = limit

    def do_tracking(self, monitoring_context):
        return ModelMonitoringApplicationMetric("rows", len(monitoring_context.sample_df))
'''
BROKEN = '''
from modelmon import ModelMonitoringApplicationBase


class {name}(ModelMonitoringApplicationBase):
    def __init__(self, limit: int = 1) -> None:
        raise RuntimeError("model weights not found at /models/judge.bin")

    def do_tracking(self, monitoring_context):
        return {{}}
'''


def _app(folder: Path, file: str, code: str, name: str) -> str:
    path = folder / file
    path.write_text(code.format(name=name))
    return str(path)


def _functions(home: Path) -> dict[str, dict]:
    return json.loads((home / "service" / "state.json").read_text())["projects"]["iso"]["functions"]


@pytest.mark.slow  # starts the local service and three app functions
def test_a_broken_app_is_refused_alone_and_never_poisons_the_next_registrations(tmp_path):
    home = tmp_path / "home"
    with modelmon.get_or_create_project("iso", home=home, bundle_dir=REPO) as project:
        try:
            rows = project.set_model_monitoring_function(func=_app(tmp_path, "rows.py", GOOD, "RowsApp"),
                                                         application_class="RowsApp", name="rows-app", limit=3)
            before = _functions(home)["rows-app"]

            with pytest.raises(DeploymentFailed, match=r"judge-app.*RuntimeError: model weights not found at "
                                                       r"/models/judge\.bin"):
                project.set_model_monitoring_function(func=_app(tmp_path, "judge.py", BROKEN, "JudgeApp"),
                                                      application_class="JudgeApp", name="judge-app")
            assert [a.name for a in project.list_model_monitoring_functions()] == ["rows-app"]
            assert "judge-app" not in project.target.running()

            # the next registration works, and starts only its own function
            project.set_model_monitoring_function(func=_app(tmp_path, "count.py", GOOD, "CountApp"),
                                                  application_class="CountApp", name="count-app")
            functions = _functions(home)
            assert (functions["rows-app"]["pid"], functions["rows-app"]["version"]) == (before["pid"],
                                                                                        before["version"])
            assert functions["count-app"]["state"] == "running"
            count_pid = functions["count-app"]["pid"]

            # a broken new version of a registered app: refused, and the version that ran comes back
            with pytest.raises(DeploymentFailed, match=r"rows-app.*model weights not found"):
                project.set_model_monitoring_function(func=_app(tmp_path, "rows.py", BROKEN, "RowsApp"),
                                                      application_class="RowsApp", name="rows-app", limit=3)
            assert project.registry.get("rows-app") == rows
            wait_for_versions(home, "iso", {"rows-app": before["version"]}, timeout=60)
            functions = _functions(home)
            assert functions["rows-app"]["state"] == "running" and functions["count-app"]["pid"] == count_pid
            assert sorted(a.name for a in project.list_model_monitoring_functions()) == ["count-app", "rows-app"]
        finally:
            project.stop_local_service()
