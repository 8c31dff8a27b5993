"""An app whose function cannot start (its constructor raises when the function initialises) is refused
by ``set_model_monitoring_function`` with the reason, and leaves nothing behind: no registration for the
controller to queue windows for, no function for the service to keep restarting."""

from __future__ import annotations

from pathlib import Path

import pytest

import modelmon
from modelmon.core.errors import DeploymentFailed

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]

APP = '''
from modelmon import ModelMonitoringApplicationBase


class NeedsAFile(ModelMonitoringApplicationBase):
    def __init__(self, path: str = "/nonexistent/reference.csv") -> None:
        with open(path) as f:  # fails in the app function's init_context, not when registration binds kwargs
            self.reference = f.read()

    def do_tracking(self, monitoring_context):
        return []
'''


def test_an_app_that_cannot_start_is_not_registered_and_its_function_is_removed(service_home, tmp_path):
    source = tmp_path / "needs_a_file.py"
    source.write_text(APP)
    with modelmon.get_or_create_project("broken", home=service_home, bundle_dir=REPO) as project:
        with pytest.raises(DeploymentFailed, match=r"nonexistent/reference\.csv"):
            project.set_model_monitoring_function(func=str(source), application_class="NeedsAFile",
                                                  name="needs-a-file")
        assert project.list_model_monitoring_functions() == []
        assert project.target.running() == []
        assert not (service_home / "projects" / "broken" / "functions" / "needs-a-file").exists()
