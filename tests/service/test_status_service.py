"""``modelmon status`` against the real local service: every function running with lag 0 once the traffic
is consumed, the histogram app's window analysed, and an app registered without a function flagged."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from service_helpers import wait_for
from traffic import MINUTE, past_window, send_requests

import modelmon
from modelmon.apps.registry import AppRegistry
from modelmon.cli.console import main
from modelmon.core.paths import ProjectPaths
from modelmon.core.timeutil import iso
from modelmon.service import read_state, stop_service

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
PROJECT = "watched"
REQUESTS = 30
FORGOTTEN = "forgotten"  # in the registry only: no function of the service runs it


def _send_window(project, base: int) -> None:
    """``REQUESTS`` requests in the first half of window ``[base, base + 1 min)``, then one at its last
    millisecond, which moves the endpoint's watermark to the window's end so the controller dispatches it."""
    rng = np.random.default_rng(5)
    times = [base + (i + 1) * 1000 for i in range(REQUESTS)] + [base + MINUTE - 1]
    rows = [[float(rng.normal()), float(rng.normal())] for _ in times]
    send_requests(project, [f"r{i}" for i in range(len(times))], times, rows, [i % 2 for i in range(len(times))])


def _status(home: Path, capsys, *extra: str) -> tuple[int, str]:
    code = main(["status", "--home", str(home), "--project", PROJECT, *extra])
    return code, capsys.readouterr().out


def test_status_of_the_running_service(service_home, capsys):
    home = service_home
    base = past_window()
    with modelmon.get_or_create_project(PROJECT, home=home, bundle_dir=REPO, controller_interval="1s") as project:
        project.enable_model_monitoring(base_period=1, wait_for_deployment=True)
        AppRegistry(project.backend.kv, ProjectPaths(PROJECT)).register(
            FORGOTTEN, "modelmon.apps.builtin.system_performance:SystemPerformanceApplication")
        rng = np.random.default_rng(3)
        reference = pd.DataFrame(rng.normal(size=(200, 2)), columns=["f0", "f1"]).assign(prediction=0)
        project.register_model_endpoint("churn", reference_data=reference, label_names=["prediction"],
                                        function_uri="serving/churn", model_version="1")
        _send_window(project, base)

        def settled():
            code, out = _status(home, capsys, "--json")
            status = json.loads(out)["projects"][PROJECT]
            apps = {a["name"]: a for a in status["apps"]}
            done = all(f["lag"] in (0, None) for f in status["functions"]) and \
                apps["histogram-data-drift"]["windows_analysed"] == 1 and apps[FORGOTTEN]["windows_queued"] == 1
            return done and (code, json.loads(out))

        code, status = wait_for("status shows the window analysed and nothing behind", settled, timeout_s=90)

    assert code == 0
    state = read_state(home)
    assert state is not None and status["service"]["running"] and status["service"]["pid"] == state["pid"]
    project_status = status["projects"][PROJECT]
    functions = {f["name"]: f for f in project_status["functions"]}
    assert sorted(functions) == ["histogram-data-drift", "labels", "model-monitoring-controller",
                                 "model-monitoring-stream", "model-monitoring-writer"]
    assert {f["state"] for f in functions.values()} == {"running"}
    assert all(f["pid"] == state["projects"][PROJECT]["functions"][name]["pid"] for name, f in functions.items())
    assert {name: f["lag"] for name, f in functions.items()} == {
        "histogram-data-drift": 0, "labels": 0, "model-monitoring-controller": None, "model-monitoring-stream": 0,
        "model-monitoring-writer": 0}
    assert all(f["uptime_s"] > 0 and f["restarts"] == 0 and f["last_error"] is None for f in functions.values())

    apps = {a["name"]: a for a in project_status["apps"]}
    window = {"start": iso(base), "end": iso(base + MINUTE)}
    histogram = apps["histogram-data-drift"]
    assert (histogram["running"], histogram["function"], histogram["windows_analysed"], histogram["windows_pending"],
            histogram["windows_failed"]) == (True, "histogram-data-drift", 1, 0, 0)
    assert histogram["oldest_window"] == histogram["newest_window"] == window
    forgotten = apps[FORGOTTEN]
    assert (forgotten["running"], forgotten["function"], forgotten["windows_analysed"],
            forgotten["windows_pending"]) == (False, None, 0, 1)
    assert project_status["warnings"] == [
        f"app {FORGOTTEN} is registered but not running (the service runs no function for it): 1 window(s) pending"]

    code, table = _status(home, capsys)
    assert code == 0
    lines = table.splitlines()
    assert lines[1].startswith(f"service: running (pid {state['pid']}, up ")
    assert any(line.split()[:3] == ["model-monitoring-writer", "writer", "running"] for line in lines)
    assert any(line.split()[:5] == [FORGOTTEN, "NO", "0", "1", "0"] for line in lines)

    stop_service(home, timeout=30)
    code, out = _status(home, capsys)
    assert code == 3 and "service: NOT running; start it with: modelmon up --home" in out
