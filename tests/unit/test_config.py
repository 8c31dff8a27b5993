from __future__ import annotations

import pytest

from modelmon.core.config import Settings
from modelmon.core.errors import ConfigError
from modelmon.core.paths import ProjectPaths, check_name


def test_defaults_and_env_overrides():
    s = Settings.from_env({})
    assert (s.backend, s.home, s.project, s.base_period_minutes) == ("local", ".modelmon", "default", 10)
    s = Settings.from_env({"MODELMON_BASE_PERIOD": "5", "MODELMON_PROJECT": "fraud", "MODELMON_APP_KWARGS": '{"a": 1}'})
    assert s.base_period_ms == 300_000 and s.project == "fraud" and s.app_kwargs == {"a": 1}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MODELMON_BASE_PERIOD": "ten"}, "MODELMON_BASE_PERIOD='ten': expected a whole number"),
        ({"MODELMON_BASE_PERIOD": "0"}, "at least 1 minute"),
        ({"MODELMON_BACKEND": "redis"}, "expected one of local, v3io"),
        ({"MODELMON_PROJECT": "a/b"}, "MODELMON_PROJECT='a/b'"),
        ({"MODELMON_APP_KWARGS": "{"}, "MODELMON_APP_KWARGS: not valid JSON"),
        ({"MODELMON_APP_KWARGS": "[1]"}, "expected a JSON object"),
    ],
)
def test_bad_environment_is_a_config_error_naming_the_variable(env, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        Settings.from_env(env)


def test_to_env_round_trips_without_credentials():
    s = Settings(project="p", base_period_minutes=3, app_kwargs={"x": 2}, v3io_access_key="secret",
                 v3io_api="http://127.0.0.1:1")
    env = s.to_env()
    assert "secret" not in repr(s) and "secret" not in str(env)
    back = Settings.from_env(env)
    assert (back.project, back.base_period_minutes, back.app_kwargs, back.v3io_api) == ("p", 3, {"x": 2},
                                                                                          "http://127.0.0.1:1")


def test_paths_follow_mlrun_layout():
    paths = ProjectPaths("fraud")
    assert paths.tracking_stream == "projects/fraud/model-endpoints/stream"
    assert paths.app_stream("histogram-data-drift") == "projects/fraud/model-endpoints/stream-histogram-data-drift"
    assert paths.writer_stream == "projects/fraud/model-endpoints/stream-model-monitoring-writer"
    assert paths.endpoints_table == "users/pipelines/fraud/model-endpoints/endpoints"
    assert paths.app_results_table == "users/pipelines/fraud/monitoring-apps/app-results-latest"
    assert paths.samples_prefix("abc") == "users/pipelines/fraud/model-endpoints/parquet/abc"


@pytest.mark.parametrize("bad", ["../etc", "a/b", "", ".hidden", "x..y"])
def test_unsafe_names_are_rejected(bad):
    with pytest.raises(ValueError, match="not a valid name"):
        check_name(bad, "endpoint id")


def test_event_time_bounds_default_to_30_days_back_and_5_minutes_ahead_and_round_trip():
    default = Settings.from_env({})
    assert (default.max_event_age_minutes, default.max_event_skew_minutes) == (30 * 24 * 60, 5)
    env = {"MODELMON_MAX_EVENT_AGE_MINUTES": "90", "MODELMON_MAX_EVENT_SKEW_MINUTES": "0"}
    settings = Settings.from_env(env)
    assert (settings.max_event_age_minutes, settings.max_event_skew_minutes) == (90, 0)
    assert Settings.from_env(settings.to_env()) == settings


@pytest.mark.parametrize("value", ["-1", "soon"])
def test_event_time_bounds_must_be_whole_minutes(value):
    with pytest.raises(ConfigError, match="MODELMON_MAX_EVENT_SKEW_MINUTES"):
        Settings.from_env({"MODELMON_MAX_EVENT_SKEW_MINUTES": value})
