"""Issue 12's "Done when": monitoring runs day to day in the home's service, outliving every process.

``modelmon up`` runs in a process that exits; a second process registers a user app from a file; a third
sends traffic and labels; a fourth reads the app's results and metrics and model-performance's accuracy.
``modelmon status --json`` then shows every function running with nothing left on its streams, and
``modelmon down`` leaves no process of the home alive.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from service_helpers import home_processes, wait_for
from traffic import REQUESTS, inputs, past_window

from modelmon.service import read_state

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent
PROJECT = "daily"
APP = textwrap.dedent('''
    from modelmon import (ModelMonitoringApplicationBase, ModelMonitoringApplicationMetric,
                          ModelMonitoringApplicationResult, ResultKindApp, ResultStatusApp)


    class MeanShift(ModelMonitoringApplicationBase):
        """How far the window's mean of f0 is from the expected one; and how many rows it had."""

        def __init__(self, expected_mean: float = 0.0, threshold: float = 1.0) -> None:
            self.expected_mean, self.threshold = expected_mean, threshold

        def do_tracking(self, monitoring_context):
            rows = monitoring_context.sample_df
            shift = abs(float(rows["f0"].mean()) - self.expected_mean)
            status = ResultStatusApp.detected if shift > self.threshold else ResultStatusApp.no_detection
            return [ModelMonitoringApplicationResult("mean_shift", shift, ResultKindApp.data_drift, status),
                    ModelMonitoringApplicationMetric("rows", float(len(rows)))]
''')


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """One process of the day, from the tests' folder (its output captured; it must succeed)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(args, cwd=HERE, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def modelmon_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run(sys.executable, "-m", "modelmon", *args)


def function_pids(home: Path) -> dict[str, int]:
    return {name: f["pid"] for name, f in read_state(home)["projects"][PROJECT]["functions"].items()}


def test_a_day_of_monitoring_across_processes(service_home, tmp_path):
    home = str(service_home)
    base = past_window()

    up = modelmon_cli("up", "--home", home, "--project", PROJECT, "--base-period", "1", "--controller-interval", "1s")
    first_line = up.stdout.splitlines()[0]
    assert first_line.startswith("modelmon service started (pid ") and first_line.endswith(f", home {home})")
    pid = int(first_line.split("pid ")[1].split(",")[0])
    assert "project daily: 5 functions running (base period 1 min): histogram-data-drift, labels, " \
           "model-monitoring-controller, model-monitoring-stream, model-monitoring-writer" in up.stdout
    assert f"logs: {home}/logs/daily/ (modelmon logs [FUNCTION] -f)" in up.stdout

    app_file = tmp_path / "mean_shift.py"
    app_file.write_text(APP)
    registered = run(sys.executable, "day_steps.py", "register-apps", home, str(app_file))
    assert json.loads(registered.stdout) == ["histogram-data-drift", "mean-shift", "model-performance"]

    # another session enabling again reuses the service and restarts nothing: the apps keep running
    pids = function_pids(service_home)
    assert len(pids) == 7
    again = modelmon_cli("up", "--home", home, "--project", PROJECT)
    assert again.stdout.splitlines()[0] == f"modelmon service already running (pid {pid}, home {home})"
    assert "project daily: 7 functions running (base period 1 min): histogram-data-drift, labels, mean-shift, " \
           "model-monitoring-controller, model-monitoring-stream, model-monitoring-writer, model-performance" \
           in again.stdout
    assert function_pids(service_home) == pids

    sent = json.loads(run(sys.executable, "day_steps.py", "send-traffic", home, str(base)).stdout)
    assert len(sent["ids"]) == REQUESTS

    read = json.loads(run(sys.executable, "day_steps.py", "read-results", home, str(base)).stdout)
    window = {"start_ms": base, "end_ms": base + 60_000}
    shift = abs(float(np.mean([row[0] for row in inputs()])))  # the window's 41 rows, the closer included
    (result,) = read["results"]
    assert result == {"result_name": "mean_shift", "value": pytest.approx(shift, rel=1e-9), "status_name": "detected",
                      **window}
    assert read["metrics"] == [{"metric_name": "rows", "value": REQUESTS + 1.0, **window}]
    assert read["accuracy"] == pytest.approx(0.75) and read["accuracy_status"] == "detected"

    # every function running, nothing left unread on any stream (lag reaches 0 once the writer is done)
    def settled():
        done = subprocess.run([sys.executable, "-m", "modelmon", "status", "--json", "--home", home, "--project",
                               PROJECT], capture_output=True, text=True, timeout=60)
        status = json.loads(done.stdout)
        functions = status["projects"][PROJECT]["functions"]
        return all(f["lag"] in (0, None) for f in functions) and (done.returncode, status)

    code, status = wait_for("status shows no lag", settled, timeout_s=30)
    assert code == 0 and status["service"]["running"] and status["service"]["pid"] == pid
    functions = {f["name"]: f for f in status["projects"][PROJECT]["functions"]}
    assert sorted(functions) == ["histogram-data-drift", "labels", "mean-shift", "model-monitoring-controller",
                                 "model-monitoring-stream", "model-monitoring-writer", "model-performance"]
    assert {f["state"] for f in functions.values()} == {"running"}
    assert {name: f["lag"] for name, f in functions.items() if f["streams"]} == {
        name: 0 for name in functions if name != "model-monitoring-controller"}
    assert all(f["restarts"] == 0 and f["last_error"] is None for f in functions.values())

    down = modelmon_cli("down", "--home", home)
    assert down.stdout.startswith(f"stopped the modelmon service (pid {pid}, home {home}, ")
    assert "and its 7 functions" in down.stdout
    assert home_processes(service_home) == []
