"""The ported hub-style count app and 1.7 tutorial-style app (``mlrun_sources``) as deployed functions: the
project SDK registers their files on the local target, tracked traffic goes to the stream function, and
the apps' function processes analyse the windows; their MLRun-style keyword log lines are in the
functions' logs. Windows close by traffic (the last request of a window 1 ms before its end)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest
from mlrun_sources import SOURCES, port

import modelmon
from modelmon.backends import OutRecord
from modelmon.core.paths import ProjectPaths
from modelmon.core.timeutil import now_ms
from modelmon.events import tracking_body
from modelmon.service import stop_service
from modelmon.service.layout import HomeLayout

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
PROJECT = "ported"
MINUTE = 60_000
ROWS = 30  # per window


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    yield home
    stop_service(home)


def test_ported_apps_log_mlrun_style_in_their_functions(home, tmp_path):
    base = now_ms() // MINUTE * MINUTE - 10 * MINUTE
    rng = np.random.default_rng(3)
    for module in ("count_hub", "report_17"):
        (tmp_path / f"{module}.py").write_text(port(SOURCES[module])[0])
    with modelmon.get_or_create_project(PROJECT, home=home, bundle_dir=REPO, controller_interval="1s") as project:
        project.enable_model_monitoring(base_period=1, deploy_histogram_data_drift_app=False,
                                        wait_for_deployment=True)
        endpoint = project.register_model_endpoint(
            "churn", reference_data=pd.DataFrame(rng.normal(size=(200, 2)), columns=["x", "y"]), model_version="1")
        project.set_model_monitoring_function(func=str(tmp_path / "count_hub.py"), application_class="EventCounter",
                                              name="event-counter")
        project.set_model_monitoring_function(func=str(tmp_path / "report_17.py"), application_class="EndpointReport",
                                              name="endpoint-report")
        times = base + np.arange(1, 2 * ROWS + 1) * MINUTE // ROWS - 1  # two windows, each closed by its last row
        requests = [{"request": {"id": f"r{t}", "inputs": [rng.normal(size=2).tolist()]},
                     "resp": {"outputs": [1]}, "microsec": 2_000,
                     "when": str(pd.Timestamp(int(t), unit="ms", tz="UTC").to_pydatetime())} for t in times]
        body = tracking_body(model="churn", version="1", function_uri=f"{PROJECT}/serving", requests=requests)
        project.backend.streams.put_records(ProjectPaths(PROJECT).tracking_stream,
                                            [OutRecord(orjson.dumps(body), partition_key="churn")])
        _wait_for(lambda: len(project.get_metrics(endpoint_id=endpoint.endpoint_id)) == 4, timeout_s=60)
        metrics = project.get_metrics(endpoint_id=endpoint.endpoint_id)
        assert sorted(zip(metrics["metric_name"], metrics["value"], strict=True)) == [
            ("count", ROWS), ("count", ROWS), ("rows", ROWS), ("rows", ROWS)]
        results = project.get_results(endpoint_id=endpoint.endpoint_id, history=True)
        assert results["result_name"].tolist() == ["max_tvd", "max_tvd"] and results["extra_data"][0]["bins"] == 22
    layout = HomeLayout(home)
    counter_log = layout.function_log(PROJECT, "event-counter").read_text()
    start = pd.Timestamp(base, unit="ms", tz="UTC")
    assert (f"Events counted: {{'endpoint_name': 'churn', 'count': {ROWS}, 'start': {start!r}, "
            f"'end': {start + pd.Timedelta(minutes=1)!r}}}") in counter_log
    report_log = layout.function_log(PROJECT, "endpoint-report").read_text()
    assert (f"Reporting on endpoint: {{'name': 'churn', 'uid': '{endpoint.endpoint_id}', "
            "'features': ['x', 'y']}") in report_log


def _wait_for(condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout_s:g}s")
        time.sleep(0.3)
