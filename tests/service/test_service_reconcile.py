"""The service follows the desired directories one function at a time: adding, changing or removing a
function starts, restarts or stops that function only (the others keep their pids)."""

from __future__ import annotations

import pytest
from service_helpers import PROJECT, functions, running_pids, wait_for, write_toy

from modelmon.core.errors import DeploymentFailed
from modelmon.service import remove_function, start_service, wait_for_removal, wait_for_versions, write_function

pytestmark = pytest.mark.slow


def test_add_change_rewrite_and_remove_touch_only_their_function(service_home):
    versions = {name: write_toy(service_home, name) for name in ("alpha", "beta")}
    start_service(service_home)
    wait_for_versions(service_home, PROJECT, versions, timeout=30)
    before = running_pids(service_home, ["alpha", "beta"])

    # add: gamma starts, alpha and beta keep running
    versions["gamma"] = write_toy(service_home, "gamma")
    wait_for_versions(service_home, PROJECT, versions, timeout=30)
    after_add = running_pids(service_home, ["alpha", "beta", "gamma"])
    assert {n: after_add[n] for n in before} == before

    # change gamma (another greeting): only gamma gets a new process
    changed = write_toy(service_home, "gamma", TOY_GREETING="changed")
    assert changed != versions["gamma"]
    entry = wait_for_versions(service_home, PROJECT, {"gamma": changed}, timeout=30)["gamma"]
    assert entry["pid"] != after_add["gamma"]
    assert running_pids(service_home, ["alpha", "beta", "gamma"]) == {**after_add, "gamma": entry["pid"]}

    # the same content written again (a new session enabling again) restarts nothing; delta, written after
    # it, running means the service has read the rewrite
    assert write_toy(service_home, "alpha") == versions["alpha"]
    delta = write_toy(service_home, "delta")
    delta_pid = wait_for_versions(service_home, PROJECT, {"delta": delta}, timeout=30)["delta"]["pid"]
    expected = {**after_add, "gamma": entry["pid"], "delta": delta_pid}
    assert running_pids(service_home, ["alpha", "beta", "gamma", "delta"]) == expected

    # remove beta: it stops, the others run on
    assert remove_function(service_home, PROJECT, "beta")
    wait_for_removal(service_home, PROJECT, ["beta"], timeout=30)
    del expected["beta"]
    assert running_pids(service_home, ["alpha", "gamma", "delta"]) == expected
    assert {n: f["restarts"] for n, f in functions(service_home).items()} == {"alpha": 0, "gamma": 0, "delta": 0}


def test_a_function_that_cannot_start_is_reported_and_the_others_run(service_home):
    write_toy(service_home, "alpha")
    broken = write_function(service_home, PROJECT, "broken", "metadata: {name: broken}\nspec: {handler: nope}\n")
    start_service(service_home)
    wait_for("alpha running", lambda: functions(service_home).get("alpha", {}).get("state") == "running")
    entry = wait_for("broken reported", lambda: functions(service_home).get("broken"))
    assert (entry["state"], entry["pid"], entry["version"]) == ("failed", None, broken)
    assert "spec.handler 'nope' must look like 'module.path:function'" in entry["last_error"]
    with pytest.raises(DeploymentFailed, match=r"deploying function 'broken' failed: cannot start: .*spec\.handler"):
        wait_for_versions(service_home, PROJECT, {"broken": broken}, timeout=10)

