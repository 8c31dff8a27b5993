"""``modelmon status`` on a home whose service is not running: the apps' stored progress, exit code 3."""

from __future__ import annotations

import json

import pytest
from status_fixtures import APP, PERIOD, Pipeline, ShiftApp

from modelmon.cli.console import main
from modelmon.core.timeutil import iso, now_ms
from modelmon.testing import ManualClock

MINUTE = 60_000
ENDPOINT = "9b1f0c3e5a7d2b4c6e8f0a1b3c5d7e9f1a2b4c6d"


@pytest.fixture
def analysed_home(home, backend, settings):
    """An hour ago: five windows with traffic dispatched, analysed (the second one failed) and written."""
    start = now_ms() // PERIOD * PERIOD - 6 * PERIOD
    pipeline = Pipeline(backend, settings.project, ManualClock(start + 5 * PERIOD + MINUTE),
                        ShiftApp(fail_at=start + PERIOD))
    pipeline.register()
    pipeline.traffic(ENDPOINT, "churn-model", [start + k * PERIOD for k in range(5)], watermark=start + 5 * PERIOD)
    assert pipeline.run_controller() == 5
    pipeline.run_app(5)
    pipeline.run_writer(5)
    return start


def test_json_shows_the_apps_progress_and_exit_code_3_without_a_service(analysed_home, home, settings, capsys):
    start = analysed_home
    assert main(["status", "--home", str(home), "--project", settings.project, "--json"]) == 3
    out = json.loads(capsys.readouterr().out)
    assert out["service"] == {"running": False, "pid": None, "started": None, "uptime_s": None, "updated": None}
    project = out["projects"][settings.project]
    assert project["functions"] == []
    (app,) = project["apps"]
    failure = app.pop("failures_24h")
    assert app == {
        "name": APP, "class_path": "status_fixtures:ShiftApp", "enabled": True, "function": None, "running": False,
        "windows_analysed": 4, "windows_pending": 0, "windows_queued": 0, "windows_not_dispatched": 0,
        "windows_failed": 1, "oldest_window": {"start": iso(start), "end": iso(start + PERIOD)},
        "newest_window": {"start": iso(start + 4 * PERIOD), "end": iso(start + 5 * PERIOD)},
        "failures_24h_total": 1,
    }
    assert failure == [{
        "endpoint_id": ENDPOINT, "endpoint": "churn-model",
        "window": {"start": iso(start + PERIOD), "end": iso(start + 2 * PERIOD)},
        "error_type": "KeyError", "message": "'no_such_column'", "location": failure[0]["location"],
        "time": iso(start + 5 * PERIOD + MINUTE),
    }]
    assert failure[0]["location"].endswith(f"status_fixtures.py:{ShiftApp.do_tracking.__code__.co_firstlineno + 2}")
    assert project["warnings"] == [f"app {APP} is registered but not running (the service is not running): "
                                   "0 window(s) pending"]


def test_the_table_names_what_a_person_needs(analysed_home, home, settings, capsys):
    start = analysed_home
    assert main(["status", "--home", str(home), "--project", settings.project]) == 3
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == f"service: NOT running; start it with: modelmon up --home {home.resolve()}"
    header = lines.index(f"project {settings.project}") + 1
    assert lines[header].split() == ["APP", "RUNNING", "ANALYSED", "PENDING", "FAILED", "OLDEST", "WINDOW", "NEWEST",
                                     "WINDOW"]
    day = f"{iso(start)[:10]}"
    row = lines[header + 1].split()
    assert row[:5] == [APP, "NO", "4", "0", "1"]
    assert row[5].startswith(f"{day}T") and row[5].endswith("Z")
    failure = next(line for line in lines if line.strip().startswith(f"{APP}: KeyError"))
    assert "'no_such_column' at " in failure and "1 window(s), 1 endpoint(s); last churn-model" in failure
    assert lines[-1] == (f"  ! app {APP} is registered but not running (the service is not running): "
                         "0 window(s) pending")
    assert ENDPOINT not in "\n".join(lines)  # names, not 40-character ids


def test_an_unknown_project_is_an_error(home, backend, capsys):
    home.mkdir(exist_ok=True)
    assert main(["status", "--home", str(home), "--project", "nosuch"]) == 1
    assert "has no project 'nosuch'" in capsys.readouterr().err
