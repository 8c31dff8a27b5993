"""``modelmon down`` stops the service and every function, laggards included: no process of the home is left."""

from __future__ import annotations

import re

import pytest
from service_helpers import home_processes, running_pids, wait_for, write_toy

from modelmon.cli import main
from modelmon.service import HomeLayout, read_state, start_service, stop_service

pytestmark = pytest.mark.slow


def test_down_stops_every_function_and_leaves_no_process_of_the_home(service_home, capsys):
    write_toy(service_home, "alpha")
    write_toy(service_home, "stubborn", TOY_TICK_SLEEP_S="120", interval="100ms")  # its handler never returns
    service = start_service(service_home, stop_timeout_s=1.0)  # the service kills what has not stopped after 1 s
    pids = wait_for("both running", lambda: running_pids(service_home, ["alpha", "stubborn"]))
    assert {pid for pid, _ in home_processes(service_home)} == {service.pid, *pids.values()}
    stubborn_log = HomeLayout(service_home).function_log("toys", "stubborn")
    wait_for("stubborn inside its handler", lambda: stubborn_log.is_file() and "tick from" in stubborn_log.read_text())

    assert main(["down", "--home", str(service_home)]) == 0
    out = capsys.readouterr().out
    home = re.escape(str(service_home.resolve()))
    assert re.match(rf"stopped the modelmon service \(pid {service.pid}, home {home}, up since \S+\) and its 2 "
                    r"functions\n  toys: alpha, stubborn\n$", out), out
    assert home_processes(service_home) == []
    assert read_state(service_home) is None and not HomeLayout(service_home).state.exists()
    assert "killing it" in HomeLayout(service_home).service_log.read_text()  # stubborn needed SIGKILL

    assert main(["down", "--home", str(service_home)]) == 0
    assert capsys.readouterr().out == f"no modelmon service running (home {service_home.resolve()})\n"
    assert stop_service(service_home) is None
