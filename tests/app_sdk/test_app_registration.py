"""Registering an app validates it before anything is written or started (issue 12: one typo poisoned the
session: the app was registered, and every later registration and base-period update failed)."""

from __future__ import annotations

import logging
import sys
import textwrap
from pathlib import Path

import pytest
from nuclio_dashboard import NuclioDashboard

import modelmon
from modelmon.apps.source import resolve_app, validate_app

REPO = Path(__file__).resolve().parents[2]
BUNDLE_ARCHIVE = "https://files.example/modelmon/modelmon-bundle.tar.gz"

MEAN_SHIFT = """
from modelmon import ModelMonitoringApplicationBase, ModelMonitoringApplicationMetric


class MeanShiftApplication(ModelMonitoringApplicationBase):
    def __init__(self, max_shift: float = 0.5{extra}) -> None:
        self.max_shift = max_shift

    def do_tracking(self, monitoring_context):
        return ModelMonitoringApplicationMetric("rows", len(monitoring_context.sample_df))
"""


def _write_app(folder: Path, extra: str = "", name: str = "app.py") -> Path:
    path = folder / name
    path.write_text(MEAN_SHIFT.format(extra=extra))
    return path


@pytest.fixture
def dashboard(monkeypatch):
    monkeypatch.delenv("V3IO_ACCESS_KEY", raising=False)
    monkeypatch.setenv("MODELMON_SOURCE", BUNDLE_ARCHIVE)  # where a real builder would fetch the bundle
    with NuclioDashboard(building_polls=1) as server:
        yield server


@pytest.fixture
def nuclio_project(dashboard, tmp_path):
    """A project deploying to a test Nuclio dashboard, its registry in the local backend."""
    with modelmon.get_or_create_project("reg", home=tmp_path / "home", backend="local", target="nuclio",
                                        dashboard_url=dashboard.url, bundle_dir=REPO) as project:
        yield project


def test_a_typo_in_a_kwarg_registers_nothing_and_the_next_registration_works(nuclio_project, dashboard, tmp_path):
    app = _write_app(tmp_path)
    with pytest.raises(ValueError) as info:
        nuclio_project.set_model_monitoring_function(func=str(app), application_class="MeanShiftApplication",
                                                     name="mean-shift", max_shfit=0.5)
    assert str(info.value) == ("application_class 'app:MeanShiftApplication': MeanShiftApplication has no argument "
                               "'max_shfit' (did you mean 'max_shift'?); it accepts max_shift")
    assert nuclio_project.list_model_monitoring_functions() == []
    assert dashboard.received == [] and "app" not in sys.modules

    registered = nuclio_project.set_model_monitoring_function(
        func=str(app), application_class="MeanShiftApplication", name="mean-shift", max_shift=0.5)
    assert (registered.name, registered.class_path, dict(registered.kwargs)) == (
        "mean-shift", "app:MeanShiftApplication", {"max_shift": 0.5})
    assert [a.name for a in nuclio_project.list_model_monitoring_functions()] == ["mean-shift"]
    assert "reg-mean-shift" in dashboard.functions
    assert nuclio_project.update_model_monitoring_controller(5).state == "ready"


def test_on_the_local_target_a_refused_app_starts_nothing(tmp_path):
    app = _write_app(tmp_path)
    with modelmon.get_or_create_project("reg", home=tmp_path / "home", bundle_dir=REPO) as project:
        with pytest.raises(ValueError, match="did you mean 'max_shift'"):
            project.set_model_monitoring_function(func=str(app), application_class="MeanShiftApplication",
                                                  max_shfit=0.5)
        assert project.list_model_monitoring_functions() == [] and project.target.running() == []
        # no function directory was written and no service was started for it
        assert not (tmp_path / "home" / "projects" / "reg" / "functions").exists()
        assert not (tmp_path / "home" / "service").exists()


def test_an_edited_file_is_checked_afresh(nuclio_project, tmp_path):
    app = _write_app(tmp_path)
    with pytest.raises(ValueError, match="has no argument 'min_rows'; it accepts max_shift"):
        nuclio_project.set_model_monitoring_function(func=str(app), application_class="MeanShiftApplication",
                                                     min_rows=3)
    _write_app(tmp_path, extra=", min_rows: int = 10")  # the user adds the argument and registers again
    registered = nuclio_project.set_model_monitoring_function(func=str(app), application_class="MeanShiftApplication",
                                                              min_rows=3)
    assert dict(registered.kwargs) == {"min_rows": 3}
    _write_app(tmp_path)  # and removes it again: the old class is not remembered either
    with pytest.raises(ValueError, match="has no argument 'min_rows'"):
        nuclio_project.create_model_monitoring_function(func=str(app), application_class="MeanShiftApplication",
                                                        min_rows=3)


def _check(folder: Path, code: str, kwargs: dict | None = None, class_name: str = "App") -> type | None:
    path = folder / "user_app.py"
    path.write_text(textwrap.dedent(code))
    return validate_app(resolve_app(str(path), class_name), kwargs or {})


BASE = "from modelmon import ModelMonitoringApplicationBase\n"


@pytest.mark.parametrize(("code", "kwargs", "message"), [
    (BASE + "class App(ModelMonitoringApplicationBase):\n    pass\n", None,
     "App is abstract: it does not define do_tracking"),
    ("class App:\n    pass\n", None, "App has no do_tracking method: subclass modelmon.ModelMonitoringApplicationBase"),
    (BASE + "class App(ModelMonitoringApplicationBase):\n    def __init__(self, limit):\n        self.limit = limit\n"
     "    def do_tracking(self, monitoring_context):\n        return {}\n", None,
     "App cannot be built with {}: missing a required argument: 'limit'; it accepts limit"),
    (BASE + "class App(ModelMonitoringApplicationBase):\n    def do_tracking(self, monitoring_context):\n"
     "        return {}\n", {"limit": 1}, "App has no argument 'limit'; it accepts no arguments"),
    ("import no_such_module_xyz\nclass App:\n    pass\n", None,
     "importing user_app.py failed: ModuleNotFoundError: No module named 'no_such_module_xyz' (at {path}:1)"),
    ("class App:\n    def do_tracking(self, monitoring_context)\n", None,
     "importing user_app.py failed: SyntaxError: expected ':' (user_app.py, line 2)"),
])
def test_what_a_function_could_not_build_is_refused_naming_why(tmp_path, code, kwargs, message):
    with pytest.raises(ValueError) as info:
        _check(tmp_path, code, kwargs)
    assert message.replace("{path}", str(tmp_path / "user_app.py")) in str(info.value)
    assert "user_app" not in sys.modules


def test_apps_the_loader_accepts_pass(tmp_path):
    # an MLRun-style class (not a modelmon subclass) with do_tracking; a constructor taking **kwargs
    mlrun_style = "class App:\n    def __init__(self, **options):\n        self.options = options\n" \
                  "    def do_tracking(self, application_name, sample_df, **kwargs):\n        return {}\n"
    cls = _check(tmp_path, mlrun_style, {"anything": 1})
    assert cls is not None and cls.__name__ == "App" and cls.__module__ == "user_app"
    # dataclasses look their module up in sys.modules while the class is built
    dataclass_app = BASE + "import dataclasses\n@dataclasses.dataclass\nclass App(ModelMonitoringApplicationBase):\n" \
                           "    limit: int = 3\n    def do_tracking(self, monitoring_context):\n        return {}\n"
    assert _check(tmp_path, dataclass_app, {"limit": 4}) is not None


def test_a_class_given_directly_and_a_module_path_are_checked_too(tmp_path, caplog):
    from modelmon.apps.builtin import HistogramDataDriftApplication

    with pytest.raises(ValueError, match="HistogramDataDriftApplication has no argument 'bogus'"):
        validate_app(resolve_app(None, HistogramDataDriftApplication), {"bogus": 1})
    builtin = "modelmon.apps.builtin.histogram_drift:HistogramDataDriftApplication"
    assert validate_app(resolve_app(None, builtin), {}) is HistogramDataDriftApplication
    with pytest.raises(ValueError, match="cannot import 'no_such_module_xyz'"):
        validate_app(resolve_app(None, "no_such_module_xyz:App"), {})
    # a package only the function's image has (Nuclio): not checkable here, said so, not refused
    with caplog.at_level(logging.WARNING, logger="modelmon.apps.source"):
        assert validate_app(resolve_app(None, "no_such_module_xyz:App"), {}, module_must_import=False) is None
    assert "its class and arguments are not checked" in caplog.text
