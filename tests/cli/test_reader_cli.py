"""``modelmon results`` / ``endpoints`` / ``artifacts`` as a user reads them: ISO UTC windows, endpoint names
with short ids, status names, metrics, failures with file:line and traceback, and exit code 1 with the
names that exist for an unknown project, app or endpoint. The home is filled by the real writer."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from modelmon.apps.sdk.artifacts import ObjectStoreArtifactSink
from modelmon.apps.sdk.context import MonitoringApplicationContext
from modelmon.backends import make_backend
from modelmon.cli import main
from modelmon.core.config import Settings
from modelmon.core.paths import ProjectPaths
from modelmon.core.results import (
    ModelMonitoringApplicationMetric,
    ModelMonitoringApplicationResult,
    ResultKindApp,
    ResultStatusApp,
)
from modelmon.core.timeutil import from_ms
from modelmon.endpoints.registration import register_model_endpoint
from modelmon.events import WriterEvent
from modelmon.writer import ResultWriter

PROJECT = "shop"
PERIOD = 600_000
T0 = 1_764_516_000_000  # 2025-11-30T15:20Z
TRACEBACK = ('Traceback (most recent call last):\n  File "/apps/mean_shift.py", line 14, in do_tracking\n'
             '    shift = df["no_such_column"].mean()\nKeyError: \'no_such_column\'\n')


@pytest.fixture
def shop(home):
    """Endpoint ``churn``: 2 windows of drift results, a metrics-only app, and one failed window."""
    backend = make_backend(Settings(home=str(home), project=PROJECT))
    endpoint_id = register_model_endpoint(backend, PROJECT, "churn",
                                          reference_data=pd.DataFrame({"age": [1.0, 2.0]})).endpoint_id
    writer = ResultWriter(backend, ProjectPaths(PROJECT))
    for k, status in enumerate((ResultStatusApp.no_detection, ResultStatusApp.detected)):
        start = T0 + k * PERIOD
        result = ModelMonitoringApplicationResult("general_drift", 0.25 + k / 2, ResultKindApp.data_drift, status,
                                                  {"drifted_features": ["age"] if k else []})
        writer.write(WriterEvent(PROJECT, endpoint_id, "histogram-data-drift", start, start + PERIOD, (result,)))
        writer.write(WriterEvent(PROJECT, endpoint_id, "row-counter", start, start + PERIOD,
                                 metrics=(ModelMonitoringApplicationMetric("rows", 100 + k),)))
    writer.write(WriterEvent(PROJECT, endpoint_id, "mean-shift", T0, T0 + PERIOD, error="KeyError: 'no_such_column'",
                             error_type="KeyError", location="/apps/mean_shift.py:14", traceback=TRACEBACK))
    yield home, endpoint_id
    backend.close()


def _cli(capsys, home, *args: str) -> tuple[int, str, str]:
    code = main([*args, "--home", str(home), "--project", PROJECT])
    out, err = capsys.readouterr()
    return code, out, err


def test_results_table_shows_iso_windows_names_short_ids_statuses_metrics_and_failures(shop, capsys):
    home, endpoint_id = shop
    code, out, _ = _cli(capsys, home, "results")
    assert code == 0 and endpoint_id not in out
    short = endpoint_id[:8]
    assert out.splitlines() == [
        "endpoint  id        app_name              result_name    window                    value  status    kind",
        f"churn     {short}  histogram-data-drift  general_drift  2025-11-30T15:30Z/15:40Z   0.75  detected  "
        "data_drift",
        "",
        "metrics:",
        "endpoint  id        app_name     metric_name  window                    value",
        f"churn     {short}  row-counter  rows         2025-11-30T15:30Z/15:40Z    101",
        "",
        "1 failed window(s):",
        "endpoint  id        app_name    window                    error                       location",
        f"churn     {short}  mean-shift  2025-11-30T15:20Z/15:30Z  KeyError: 'no_such_column'  mean_shift.py:14",
    ]


def test_history_and_metrics_flags(shop, capsys):
    home, _ = shop
    code, out, _ = _cli(capsys, home, "results", "--history", "--app", "histogram-data-drift")
    assert code == 0
    assert [line.split()[4:7] for line in out.splitlines()[1:3]] == [
        ["2025-11-30T15:20Z/15:30Z", "0.25", "no_detection"], ["2025-11-30T15:30Z/15:40Z", "0.75", "detected"]]
    code, out, _ = _cli(capsys, home, "results", "--metrics", "--history", "--app", "row-counter")
    assert code == 0 and out.splitlines()[0].split() == ["endpoint", "id", "app_name", "metric_name", "window",
                                                         "value"]
    assert [line.split()[4:] for line in out.splitlines()[1:]] == [
        ["2025-11-30T15:20Z/15:30Z", "100"], ["2025-11-30T15:30Z/15:40Z", "101"]]
    code, out, _ = _cli(capsys, home, "results", "--metrics", "--json", "--until", str(T0 + PERIOD + 1))
    data = json.loads(out)
    assert [(m["endpoint_name"], m["metric_name"], m["value"], m["start"]) for m in data["metrics"]] == [
        ("churn", "rows", 101.0, "2025-11-30T15:30:00+00:00")]  # latest window; --until is for --history
    code, out, _ = _cli(capsys, home, "results", "--history", "--json", "--until", "2025-11-30T15:40:00Z")
    rows = json.loads(out)["results"]
    assert [(r["value"], r["status_name"], r["extra_data"]) for r in rows] == [(0.25, "no_detection",
                                                                                {"drifted_features": []})]


def test_failures_show_type_message_location_and_the_traceback_on_request(shop, capsys):
    home, _ = shop
    code, out, _ = _cli(capsys, home, "results", "--app", "mean-shift", "--traceback")
    assert code == 0
    assert out.splitlines()[:1] == ["no results"]
    assert out.endswith(f"churn mean-shift 2025-11-30T15:20Z/15:30Z:\n{TRACEBACK}")
    code, out, _ = _cli(capsys, home, "results", "--app", "mean-shift", "--json")
    (failure,) = json.loads(out)["failures"]
    assert {k: failure[k] for k in ("error", "error_type", "location", "traceback", "start")} == {
        "error": "KeyError: 'no_such_column'", "error_type": "KeyError", "location": "/apps/mean_shift.py:14",
        "traceback": TRACEBACK, "start": "2025-11-30T15:20:00+00:00"}


def test_unknown_project_app_or_endpoint_exits_1_naming_what_exists(shop, capsys):
    home, endpoint_id = shop
    proc = subprocess.run([sys.executable, "-m", "modelmon", "results", "--home", str(home), "--project", PROJECT,
                           "--app", "nosuch"], capture_output=True, text=True, timeout=120, check=False)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr.strip() == (f"modelmon: error: project {PROJECT!r} has no application 'nosuch'; its "
                                   "applications: histogram-data-drift, mean-shift, row-counter")
    code, out, err = _cli(capsys, home, "results", "--endpoint", "nosuch")
    assert (code, out) == (1, "")
    assert err.strip() == (f"modelmon: error: project {PROJECT!r} has no endpoint with id or name 'nosuch'; "
                           f"its endpoints: churn ({endpoint_id[:8]})")
    for command in (["results"], ["endpoints"], ["artifacts"]):
        code = main([*command, "--home", str(home), "--project", "nosuch"])
        out, err = capsys.readouterr()
        assert (code, out) == (1, "")
        assert err.strip() == (f"modelmon: error: no project 'nosuch' in home {home}: it has no endpoints, "
                               "applications or results; give the project with --project")


def test_a_project_named_in_the_home_is_listed_and_a_recorded_empty_project_is_no_error(shop, capsys):
    home, _ = shop
    (home / "projects" / PROJECT).mkdir(parents=True)  # what the SDK and the local service write
    record = home / "projects" / "empty" / "project.json"
    record.parent.mkdir(parents=True)
    record.write_text('{"name": "empty", "base_period_minutes": 10}', encoding="utf-8")
    assert main(["results", "--home", str(home), "--project", "nosuch"]) == 1
    assert capsys.readouterr().err.strip().endswith(f"results; projects there: {PROJECT}")
    assert main(["results", "--home", str(home), "--project", "empty"]) == 0
    assert capsys.readouterr().out.strip() == "no results"
    assert main(["endpoints", "--home", str(home), "--project", "empty"]) == 0
    assert capsys.readouterr().out.strip() == "project 'empty' has no model endpoints"


def test_endpoints_table_shows_names_short_ids_and_iso_times(shop, capsys):
    home, endpoint_id = shop
    code, out, _ = _cli(capsys, home, "endpoints")
    header, row = out.splitlines()
    assert code == 0 and header.split()[:2] == ["name", "id"] and row.split()[:2] == ["churn", endpoint_id[:8]]
    assert row.split()[-2:] == ["detected", "-"]  # drift status; no traffic left out of the analysis


def test_artifacts_has_help_takes_endpoint_names_and_never_creates_a_home(shop, capsys, tmp_path):
    home, endpoint_id = shop
    backend = make_backend(Settings(home=str(home), project=PROJECT))
    try:
        context = MonitoringApplicationContext(
            application_name="histogram-data-drift", project_name=PROJECT, endpoint_id=endpoint_id,
            start_infer_time=from_ms(T0), end_infer_time=from_ms(T0 + PERIOD), sample_df=pd.DataFrame(),
            artifact_sink=ObjectStoreArtifactSink(backend.objects, PROJECT))
        context.log_artifact("drift_table", {"age": 0.4})
    finally:
        backend.close()
    with pytest.raises(SystemExit):
        main(["artifacts", "--help"])
    shown = capsys.readouterr().out
    assert "log_artifact" in shown and "id, unique id prefix, or name" in shown
    code, out, _ = _cli(capsys, home, "artifacts", "--endpoint", "churn")
    assert code == 0
    header, row = out.splitlines()
    assert header.split() == ["app_name", "endpoint", "id", "start", "end", "name", "format", "path"]
    assert row.split()[:7] == ["histogram-data-drift", "churn", endpoint_id[:8], "2025-11-30T15:20Z",
                               "2025-11-30T15:30Z", "drift_table", "json"]
    code, out, _ = _cli(capsys, home, "artifacts", "--endpoint", "churn", "--json")
    assert [(a["endpoint_id"], a["endpoint_name"]) for a in json.loads(out)] == [(endpoint_id, "churn")]
    missing = tmp_path / "no-home"
    assert main(["artifacts", "--home", str(missing)]) == 1
    assert capsys.readouterr().err.strip() == f"modelmon: error: no modelmon home at {missing} (use --home or " \
                                              "MODELMON_HOME)"
    assert not missing.exists()


def test_a_home_of_one_project_needs_no_project_option(shop, capsys, monkeypatch):
    home, endpoint_id = shop
    monkeypatch.delenv("MODELMON_PROJECT", raising=False)
    assert main(["endpoints", "--home", str(home)]) == 1  # 'default' is not there, and shop has no record
    assert "no project 'default'" in capsys.readouterr().err
    (home / "projects" / PROJECT).mkdir(parents=True)
    (home / "projects" / PROJECT / "project.json").write_text(json.dumps({"name": PROJECT}))
    assert main(["endpoints", "--home", str(home), "--json"]) == 0
    assert [e["endpoint_id"] for e in json.loads(capsys.readouterr().out)] == [endpoint_id]
    (home / "projects" / "other").mkdir()
    (home / "projects" / "other" / "project.json").write_text(json.dumps({"name": "other"}))
    assert main(["endpoints", "--home", str(home)]) == 1  # two projects: say which
    assert "projects there: shop" in capsys.readouterr().err
