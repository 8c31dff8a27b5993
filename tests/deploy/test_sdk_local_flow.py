"""The project SDK on the local target, end to end: enable → set app → traffic → results → update base
period → remove app → disable, with the functions running in the home's local service (issue 4, "Done when";
the service: issue 12). The service outlives the project object; the fixture stops it.

Traffic is tracked requests with event times in the past (as the demo sends them): the last request of a
window sits 1 ms before its end, so the endpoint's watermark closes the window as soon as it is stored,
and the controller (its cron interval set to 1 s) dispatches it on its next tick. The grace period stays
at its default (30 min), so no window closes by wall clock: every window below closes by traffic only.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import orjson
import pandas as pd
import pytest
import sdk_app
from deploy_paths import REPO

import modelmon
from modelmon.backends import OutRecord
from modelmon.core.paths import ProjectPaths
from modelmon.core.timeutil import now_ms
from modelmon.events import endpoint_uid, tracking_body
from modelmon.queries import result_history
from modelmon.service import read_state, stop_service
from modelmon.testing.traffic import spread_requests

pytestmark = pytest.mark.slow

PROJECT = "flow"
MODEL = "flow-model"
FUNCTION_URI = f"{PROJECT}/serving"
FEATURES = ["f0", "f1", "f2"]
MINUTE = 60_000
ROWS = 30  # per window
CORE = ["labels", "model-monitoring-controller", "model-monitoring-stream", "model-monitoring-writer"]


@pytest.fixture
def home(tmp_path):
    """The project's home; its service (and every function) is stopped afterwards, even after a failure."""
    home = tmp_path / "home"
    yield home
    stop_service(home)


def test_enable_set_app_traffic_results_update_remove_disable(home):
    # windows [base + k min, ...) all lie in the past; base is aligned to 2 minutes, so the 1-minute
    # progress at base + 2 min is also a 2-minute boundary
    base = now_ms() // (2 * MINUTE) * (2 * MINUTE) - 10 * MINUTE
    rng = np.random.default_rng(7)
    reference = pd.DataFrame(rng.normal(size=(200, 3)), columns=FEATURES)
    with modelmon.get_or_create_project(PROJECT, home=home, bundle_dir=REPO, controller_interval="1s") as project:
        # enable: stream, controller, writer, labels and the histogram-drift app run in the home's service
        states = project.enable_model_monitoring(base_period=1, wait_for_deployment=True)
        assert [(s.function, s.state) for s in states] == [
            ("model-monitoring-stream", "ready"), ("model-monitoring-controller", "ready"),
            ("model-monitoring-writer", "ready"), ("labels", "ready"), ("histogram-data-drift", "ready")]
        assert project.target.running() == sorted([*CORE, "histogram-data-drift"])
        endpoint = project.register_model_endpoint(MODEL, reference_data=reference, function_uri=FUNCTION_URI,
                                                   model_version="1")
        endpoint_id = endpoint.endpoint_id
        assert endpoint_id == endpoint_uid(PROJECT, FUNCTION_URI, MODEL, "1")

        # set app: a custom class from a module file, shipped next to its function
        app = project.set_model_monitoring_function(func=sdk_app.__file__, application_class="RowCountApp",
                                                    name="row-count", minimum=3)
        assert (app.name, app.class_path, dict(app.kwargs)) == ("row-count", "sdk_app:RowCountApp", {"minimum": 3})
        assert project.target.running() == sorted([*CORE, "histogram-data-drift", "row-count"])

        # traffic in two 1-minute windows -> results for both apps, window by window
        send(project, rng, base, 2 * MINUTE)
        wait_for(lambda: latest_end(project, "row-count") == base + 2 * MINUTE
                 and latest_end(project, "histogram-data-drift") == base + 2 * MINUTE)
        assert windows(project, "row-count") == [(base, base + MINUTE, ROWS), (base + MINUTE, base + 2 * MINUTE, ROWS)]
        latest = project.get_results(endpoint_id=endpoint_id)
        assert sorted(zip(latest["app_name"], latest["result_name"], latest["start_ms"], strict=True)) == [
            ("histogram-data-drift", "drifted_features_share", base + MINUTE),
            ("histogram-data-drift", "general_drift", base + MINUTE), ("row-count", "row_count", base + MINUTE)]

        # update base period in place: the controller now cuts 2-minute windows of new traffic
        assert project.update_model_monitoring_controller(base_period=2).state == "ready"
        assert project.base_period == 2
        send(project, rng, base + 2 * MINUTE, 2 * MINUTE)
        wait_for(lambda: latest_end(project, "row-count") == base + 4 * MINUTE
                 and latest_end(project, "histogram-data-drift") == base + 4 * MINUTE)
        assert windows(project, "row-count")[2:] == [(base + 2 * MINUTE, base + 4 * MINUTE, 2 * ROWS)]
        assert [w[:2] for w in windows(project, "histogram-data-drift")][2:] == [(base + 2 * MINUTE,
                                                                                base + 4 * MINUTE)]

        # remove app: no longer dispatched, its results stay
        project.remove_model_monitoring_function("row-count")
        assert [a.name for a in project.list_model_monitoring_functions()] == ["histogram-data-drift"]
        assert project.target.running() == sorted([*CORE, "histogram-data-drift"])
        send(project, rng, base + 4 * MINUTE, 2 * MINUTE)
        wait_for(lambda: latest_end(project, "histogram-data-drift") == base + 6 * MINUTE)
        # the controller run that dispatched the histogram's window planned no row-count pair any more
        assert latest_end(project, "row-count") == base + 4 * MINUTE
        assert len(windows(project, "row-count")) == 3
        schedules = ProjectPaths(PROJECT).schedules_table
        assert project.backend.kv.get(schedules, f"{endpoint_id}.row-count")["last_analyzed_ms"] == base + 4 * MINUTE

        # disable: controller, writer and the histogram app stop; the stream keeps ingesting (labels too)
        assert sorted(project.disable_model_monitoring()) == [
            "histogram-data-drift", "model-monitoring-controller", "model-monitoring-writer"]
        assert project.target.running() == ["labels", "model-monitoring-stream"]
        assert sorted(functions_running(home)) == ["labels", "model-monitoring-stream"]
        assert project.list_model_monitoring_functions() == []
        requests_before = project.get_model_endpoint(endpoint_id).request_count
        send(project, rng, base + 6 * MINUTE, 2 * MINUTE)
        wait_for(lambda: project.get_model_endpoint(endpoint_id).watermark_ms == base + 8 * MINUTE)
        assert project.get_model_endpoint(endpoint_id).request_count == requests_before + 2 * ROWS
        assert latest_end(project, "histogram-data-drift") == base + 6 * MINUTE  # nothing analyses it now

    # closing the project leaves the service running what was enabled
    assert sorted(functions_running(home)) == ["labels", "model-monitoring-stream"]


def functions_running(home) -> list[str]:
    """The functions the home's service runs for the project, as its state file says."""
    state = read_state(home)
    functions = state["projects"][PROJECT]["functions"]
    return [name for name, f in functions.items() if f["state"] == "running"]


def send(project, rng: np.random.Generator, start_ms: int, span_ms: int) -> None:
    """``ROWS`` requests per minute of ``[start_ms, start_ms + span_ms)``, the last one at its end - 1 ms."""
    requests = spread_requests(MODEL, start_ms, span_ms, ROWS * span_ms // MINUTE, rng, features=3)
    body = tracking_body(model=MODEL, version="1", function_uri=FUNCTION_URI, requests=requests)
    project.backend.streams.put_records(ProjectPaths(PROJECT).tracking_stream,
                                        [OutRecord(orjson.dumps(body), partition_key="flow")])


def latest_end(project, app_name: str) -> int | None:
    """The end of the latest window ``app_name`` has a result for (``None``: no result yet)."""
    results = project.get_results(app_name=app_name)
    return None if results.empty else int(results["end_ms"].max())


def windows(project, app_name: str) -> list[tuple[int, ...]]:
    """Every analysed window of ``app_name`` (start, end, and the row count for row-count), in time order."""
    history = result_history(project.backend, PROJECT, app_name=app_name)
    rows = history.drop_duplicates(["start_ms", "end_ms"]).sort_values("start_ms")
    if app_name == "row-count":
        return [(int(s), int(e), int(v)) for s, e, v in zip(rows["start_ms"], rows["end_ms"], rows["value"],
                                                            strict=True)]
    return [(int(s), int(e)) for s, e in zip(rows["start_ms"], rows["end_ms"], strict=True)]


def wait_for(condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout_s:g}s")
        time.sleep(0.2)
