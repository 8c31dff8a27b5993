from __future__ import annotations

import re

import pytest

from modelmon.apps.runner import AppRunner
from modelmon.apps.runner.loader import load_app
from modelmon.backends import make_backend
from modelmon.core.config import Settings
from modelmon.core.errors import ConfigError


def test_load_app_builds_the_class_with_its_kwargs():
    app = load_app("sample_apps:RowCountApp", {"limit": 9})
    assert type(app).__name__ == "RowCountApp" and app.limit == 9


def test_app_records_stored_before_the_move_to_apps_builtin_still_load():
    app = load_app("modelmon.apps.histogram_drift:HistogramDataDriftApplication")
    assert type(app).__module__ == "modelmon.apps.builtin.histogram_drift"


@pytest.mark.parametrize(("class_path", "kwargs", "message"), [
    (None, None, "expected 'package.module:ClassName'"),
    ("sample_apps.RowCountApp", None, "expected 'package.module:ClassName'"),
    ("no_such_module_xyz:App", None, "cannot import 'no_such_module_xyz'"),
    ("sample_apps:Missing", None, "has no class 'Missing'"),
    ("sample_apps:NotAnApp", None, "has no do_tracking method"),
    ("sample_apps:RowCountApp", {"bogus": 1}, "RowCountApp has no argument 'bogus'; it accepts limit"),
    ("sample_apps:RowCountApp", {"limt": 1}, "has no argument 'limt' (did you mean 'limit'?)"),
    ("sample_apps:PositiveLimitApp", {"limit": -1},
     "constructing it with {'limit': -1} failed: ValueError: limit must be positive"),
])
def test_load_app_names_what_is_wrong(class_path, kwargs, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_app(class_path, kwargs)


def test_an_app_function_needs_its_app_name(settings):
    backend = make_backend(settings)
    try:
        with pytest.raises(ConfigError, match="MODELMON_APP_NAME"):
            AppRunner.from_settings(Settings(home=settings.home, app_class="sample_apps:RowCountApp"), backend)
    finally:
        backend.close()
