"""A function that crashes is restarted with backoff; the state says how often and why."""

from __future__ import annotations

import os
import signal

import pytest
from service_helpers import PROJECT, functions, running_pids, wait_for, write_toy

from modelmon.service import start_service, wait_for_versions

pytestmark = pytest.mark.slow


def test_crashes_at_start_are_restarted_until_it_runs(service_home):
    write_toy(service_home, "steady")
    start_service(service_home)
    steady = wait_for("steady running", lambda: running_pids(service_home, ["steady"]))["steady"]

    write_toy(service_home, "flaky", TOY_CRASHES="2")  # its init_context raises in its first two processes
    entry = wait_for("flaky running after its crashes",
                     lambda: (f := functions(service_home).get("flaky")) and f["state"] == "running" and f)
    assert entry["restarts"] == 2
    assert entry["last_error"] == "exited with code 1: RuntimeError: flaky crash number 2"
    starts = (service_home.parent / "toy-state" / "flaky.starts").read_text()
    assert starts == "3"
    assert functions(service_home)["steady"]["pid"] == steady  # untouched


def test_a_killed_function_comes_back_in_a_new_process(service_home):
    version = write_toy(service_home, "victim")
    start_service(service_home)
    first = wait_for_versions(service_home, PROJECT, {"victim": version}, timeout=30)["victim"]
    os.kill(first["pid"], signal.SIGKILL)
    again = wait_for("victim restarted", lambda: (f := functions(service_home)["victim"])["state"] == "running"
                     and f["pid"] != first["pid"] and f)
    assert again["restarts"] == 1 and again["last_error"].startswith("exited with code -9")
    assert again["version"] == version
