"""One service per home: a second start reuses it, and a killed service never looks alive."""

from __future__ import annotations

import os
import shutil
import signal

import pytest
from service_helpers import functions, home_processes, running_pids, wait_for, write_toy

from modelmon.service import HomeLayout, read_state, start_service
from modelmon.service.lock import lock_held

pytestmark = pytest.mark.slow


def test_a_second_start_reuses_the_running_service(service_home):
    first = start_service(service_home)
    second = start_service(service_home)
    assert not first.already_running and second.already_running
    assert second.pid == first.pid and second.home == str(service_home.resolve())
    state = read_state(service_home)
    assert state["pid"] == first.pid and state["home"] == str(service_home.resolve())
    assert lock_held(HomeLayout(service_home).lock)
    # detached: not a child of this process, in a session of its own
    with open(f"/proc/{first.pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    assert int(fields[1]) != os.getpid()  # ppid
    assert os.getsid(first.pid) != os.getsid(0)


def test_a_killed_service_leaves_a_stale_file_that_does_not_look_alive(service_home):
    write_toy(service_home, "alpha")
    service = start_service(service_home)
    (alpha,) = wait_for("alpha running", lambda: running_pids(service_home, ["alpha"])).values()

    os.kill(service.pid, signal.SIGKILL)
    wait_for("the lock released", lambda: not lock_held(HomeLayout(service_home).lock), timeout_s=10)
    assert HomeLayout(service_home).state.is_file()  # stale: nobody removed it
    assert read_state(service_home) is None and functions(service_home) == {}
    # its function stops by itself (it watches its supervisor's pid)
    wait_for("the orphaned function gone", lambda: not home_processes(service_home), timeout_s=10)

    again = start_service(service_home)
    assert not again.already_running and again.pid != service.pid
    pids = wait_for("alpha running again", lambda: running_pids(service_home, ["alpha"]))
    assert pids["alpha"] != alpha


def test_a_service_whose_home_is_deleted_stops_with_its_functions(service_home):
    write_toy(service_home, "alpha")
    start_service(service_home)
    wait_for("alpha running", lambda: running_pids(service_home, ["alpha"]))
    assert len(home_processes(service_home)) == 2
    shutil.rmtree(service_home)  # as pytest does with old temporary folders: nothing could stop it any more
    wait_for("the service and its function gone", lambda: not home_processes(service_home), timeout_s=30)
