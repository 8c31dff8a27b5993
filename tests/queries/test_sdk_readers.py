"""The project SDK's readers on results real apps produced (``conftest.monitored``): metrics of an app
that returns a dict, per-window per-feature drift from the histogram-drift app's ``extra_data``, the wide
window x ``app.result`` frame, failures with their traceback, UTC timestamps and status names."""

from __future__ import annotations

import pandas as pd
import pytest
import reader_apps
from conftest import BROKEN, DRIFT, PERIOD, PROJECT, T0, WINDOWS, run_apps

import modelmon
from modelmon.core.errors import NotFound
from modelmon.core.paths import ProjectPaths
from modelmon.core.timeutil import from_ms
from modelmon.queries import app_failures, result_history


@pytest.fixture
def project(monitored):
    with modelmon.get_or_create_project(PROJECT, home=monitored.home) as project:
        yield project


def test_a_dict_apps_metrics_are_read_back_per_window(project, monitored):
    metrics = project.get_metrics(endpoint_id="churn", app_name="rows-app")
    assert list(metrics.columns) == ["endpoint_id", "endpoint_name", "app_name", "metric_name", "start", "start_ms",
                                     "end", "end_ms", "value"]
    rows = metrics[metrics["metric_name"] == "rows"]
    assert rows["value"].tolist() == [400.0] * WINDOWS
    assert rows["start"].tolist() == [from_ms(T0 + k * PERIOD) for k in range(WINDOWS)]
    assert set(metrics["endpoint_name"]) == {"churn"}
    ages = metrics[metrics["metric_name"] == "age_mean"]["value"].tolist()
    assert ages[2] - ages[0] > 25  # the 30-year shift of window 2
    latest = project.get_metrics(app_name="rows-app", latest=True)
    assert sorted(zip(latest["endpoint_name"], latest["metric_name"], latest["start_ms"], strict=True)) == [
        (name, metric, T0 + 2 * PERIOD) for name in ("churn", "fraud") for metric in ("age_mean", "rows")]
    until = project.get_metrics(endpoint_id="churn", app_name="rows-app", since=T0, until=T0 + 2 * PERIOD + 1)
    assert sorted(set(until["end_ms"])) == [T0 + PERIOD, T0 + 2 * PERIOD]


def test_feature_drift_says_which_features_drifted_in_which_window(project, monitored):
    drift = project.get_feature_drift(endpoint_id=monitored.churn[:8], app_name=DRIFT)
    assert list(drift.columns[:9]) == ["endpoint_id", "endpoint_name", "app_name", "start", "start_ms", "end",
                                       "end_ms", "feature", "tvd"]
    assert len(drift) == WINDOWS * 2  # 3 windows x (age, income)
    drifted = drift[drift["drifted"].astype(bool)]
    assert drifted[["feature", "start_ms"]].values.tolist() == [["age", T0 + 2 * PERIOD]]
    at_15_45 = pd.Timestamp("2025-11-30T15:45Z")
    now = drift[(drift["start"] <= at_15_45) & (at_15_45 < drift["end"])].set_index("feature")
    assert now.loc["age", "status_name"] == "detected" and now.loc["income", "status_name"] == "no_detection"
    assert now.loc["age", "score"] > now.loc["age", "threshold"] > now.loc["income", "score"]
    # the values are the app's own: general_drift's extra_data of that window
    history = result_history(monitored.backend, PROJECT, endpoint_id=monitored.churn, extra_data=True)
    general = history[(history["result_name"] == "general_drift") & (history["start_ms"] == T0 + 2 * PERIOD)]
    stored = general["extra_data"].iloc[0]["features"]
    assert {f: now.loc[f, "tvd"] for f in ("age", "income")} == {f: stored[f]["tvd"] for f in ("age", "income")}
    assert now.loc["age", "n_window"] == 400


def test_results_frame_is_one_row_per_window_and_one_column_per_app_result(project, monitored):
    frame = project.get_results_frame(endpoint_id="churn", statuses=True)
    assert frame.index.name == "start" and str(frame.index.tz) == "UTC"
    assert frame.index.tolist() == [from_ms(T0 + k * PERIOD) for k in range(WINDOWS)]
    assert list(frame.columns) == [
        f"{DRIFT}.drifted_features_share", f"{DRIFT}.drifted_features_share.status",
        f"{DRIFT}.general_drift", f"{DRIFT}.general_drift.status", f"{DRIFT}.hellinger_mean",
        f"{DRIFT}.kld_mean", f"{DRIFT}.tvd_mean", "rows-app.age_mean", "rows-app.rows"]
    history = result_history(monitored.backend, PROJECT, endpoint_id=monitored.churn)
    general = history[history["result_name"] == "general_drift"]
    assert frame[f"{DRIFT}.general_drift"].tolist() == general["value"].tolist()
    assert frame[f"{DRIFT}.drifted_features_share.status"].tolist() == ["no_detection", "no_detection", "detected"]
    assert frame["rows-app.rows"].tolist() == [400.0] * WINDOWS
    values_only = project.get_results_frame(endpoint_id="churn", app_name=DRIFT, metrics=False)
    assert list(values_only.columns) == [f"{DRIFT}.drifted_features_share", f"{DRIFT}.general_drift"]
    with pytest.raises(ValueError, match=r"belong to 2 endpoints .*pass endpoint_id"):
        project.get_results_frame()


def test_results_carry_utc_timestamps_status_names_and_extra_data(project, monitored):
    history = project.get_results(endpoint_id="churn", app_name=DRIFT, history=True)
    assert str(history["start"].dt.tz) == "UTC" and str(history["end"].dt.tz) == "UTC"
    assert (history["end"] - history["start"]).unique().tolist() == [pd.Timedelta(minutes=10)]
    assert history["start"].tolist() == [from_ms(ms) for ms in history["start_ms"]]
    share = history[history["result_name"] == "drifted_features_share"]
    assert share["status_name"].tolist() == ["no_detection", "no_detection", "detected"]
    assert share["status"].tolist() == [0, 0, 2]
    assert [e["drifted_features"] for e in share["extra_data"]] == [[], [], ["age"]]
    latest = project.get_results(endpoint_id="churn", app_name=DRIFT)
    assert latest["start"].tolist() == [from_ms(T0 + 2 * PERIOD)] * 2 and set(latest["endpoint_name"]) == {"churn"}
    endpoints = project.list_model_endpoints()
    assert str(endpoints["first_request"].dt.tz) == "UTC" and endpoints["name"].tolist() == ["churn", "fraud"]


def test_failures_carry_type_location_and_traceback(project, monitored):
    (failure,) = project.get_failures(app_name=BROKEN).to_dict("records")
    assert (failure["endpoint_name"], failure["start"], failure["error"], failure["error_type"]) == (
        "churn", from_ms(T0 + PERIOD), "KeyError: 'no_such_column'", "KeyError")
    assert failure["location"] == f"{reader_apps.__file__}:{reader_apps.FAILING_LINE}"
    assert failure["traceback"].startswith("Traceback (most recent call last):")
    assert 'sample_df["no_such_column"]' in failure["traceback"]
    # an item stored before failures had details reads them as empty text
    monitored.backend.kv.put(ProjectPaths(PROJECT).app_failures_table, "old", {
        "endpoint_id": monitored.fraud, "app_name": BROKEN, "start_ms": T0, "end_ms": T0 + PERIOD,
        "error": "ValueError: old", "time_ms": T0})
    old = app_failures(monitored.backend, PROJECT, endpoint_id=monitored.fraud).iloc[0]
    assert (old["error"], old["error_type"], old["location"], old["traceback"]) == ("ValueError: old", "", "", "")
    run_apps(monitored.backend, monitored.churn, "churn", range(1, 2), {BROKEN: reader_apps.RowsApp()})
    assert project.get_failures(endpoint_id="churn").empty  # the window succeeded when run again


def test_unknown_names_are_errors_naming_what_exists(project):
    with pytest.raises(NotFound, match=r"no endpoint with id or name 'nope'; its endpoints: churn \(\w{8}\), "
                                       r"fraud \(\w{8}\)"):
        project.get_results(endpoint_id="nope")
    with pytest.raises(NotFound, match=f"no application 'nope'; its applications: {BROKEN}, {DRIFT}, rows-app"):
        project.get_metrics(app_name="nope")
    with pytest.raises(NotFound, match="no application 'nope'"):
        project.get_results_frame(endpoint_id="churn", app_name="nope")
    assert project.get_results(app_name=BROKEN).empty  # a known app without results is no error
