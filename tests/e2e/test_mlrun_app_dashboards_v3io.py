"""MLRun's *Applications* dashboards (1.6/1.7: 6 panels; 1.8+: 5 of its 6, the sixth is in
``test_mlrun_dashboards_v3io.py``) on what a whole pipeline run stores on the ``v3io`` backend.

Every 1.6/1.7 panel reads the ``app-results`` TSDB of one endpoint and app (picked from the per-endpoint KV
``monitoring-apps/<endpoint_id>``, item names = apps) and shows its ``result_value``, ``result_status`` and
``result_kind`` per window end; the 1.8+ panels read ``app-results`` by ``result_name`` and ``metrics`` by
``metric_name``. Each must show what modelmon's own readers give for the same windows.
"""

from __future__ import annotations

import pandas as pd
import pytest
import v3io_frames
from pipeline_checks import demo_config, v3io_storage
from v3io_server.stack import ACCESS_KEY, running_servers

from modelmon.core.paths import ProjectPaths
from modelmon.demo.session import DemoSession
from modelmon.queries import metric_history, result_history
from modelmon.writer.mlrun_layout import infer_time

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    with running_servers() as (web, frames), \
            DemoSession(demo_config(tmp_path_factory, "app-dashboards"), storage=v3io_storage(web, frames)) as session:
        session.send_traffic()
        session.wait_for_windows(timeout_s=60)
        client = v3io_frames.Client(address=frames.address, container="users", token=ACCESS_KEY)
        yield session, client


def _pipelines(session: DemoSession) -> str:
    return ProjectPaths(session.config.project).endpoints_table.removeprefix("users/").rsplit("/", 2)[0]


def _app_results(session, client, endpoint_id: str, app: str) -> pd.DataFrame:
    """The 1.6/1.7 panels' query: every column of the endpoint and app's result rows."""
    frame = client.read(backend="tsdb", table=f"{_pipelines(session)}/monitoring-apps/app-results", start="0",
                        end="now", filter=f"endpoint_id=='{endpoint_id}' AND application_name ==\"{app}\"")
    return frame.reset_index()


def _expected(session, endpoint_id: str, app: str) -> pd.DataFrame:
    return result_history(session.backend, session.config.project, endpoint_id=endpoint_id, app_name=app)


def test_the_application_picker_lists_the_endpoints_apps(run):
    session, client = run
    apps = {app.name for app in session.bundle.apps}
    for endpoint_id in session.endpoint_ids.values():
        names = client.read(backend="kv", table=f"{_pipelines(session)}/monitoring-apps/{endpoint_id}",
                            columns=["__name"])
        assert set(names["__name"]) == apps


@pytest.mark.parametrize("panel", ["drift status by category", "average drift value", "latest result",
                                   "application summary", "result value by time", "drift detection history"])
def test_applications_panels_show_the_results_of_every_window(run, panel):
    session, client = run
    for endpoint_id in session.endpoint_ids.values():
        for app in (a.name for a in session.bundle.apps):
            got = _app_results(session, client, endpoint_id, app)
            want = _expected(session, endpoint_id, app)
            assert len(want) > 0
            got_rows = sorted(zip(got["time"].astype("int64") // 1_000_000, got["result_name"],
                                  got["result_value"], got["result_status"], got["result_kind"], strict=True))
            want_rows = sorted(zip(want["end_ms"], want["result_name"], want["value"], want["status"],
                                   want["kind"], strict=True))
            if panel == "drift status by category":  # a histogram of the statuses
                assert sorted(r[3] for r in got_rows) == sorted(float(r[3]) for r in want_rows)
            elif panel == "latest result":
                assert got_rows[-1][:2] == (want_rows[-1][0], want_rows[-1][1])
                assert got_rows[-1][2:] == pytest.approx(want_rows[-1][2:])
                last = got.sort_values("time").iloc[-1]  # 1.8's panel shows its window's start too
                assert last["start_infer_time"] == infer_time(int(want.sort_values("end_ms")["start_ms"].iloc[-1]))
            else:
                assert [r[:2] for r in got_rows] == [(r[0], r[1]) for r in want_rows]
                assert [v for r in got_rows for v in r[2:]] == pytest.approx([v for r in want_rows for v in r[2:]])


def test_applications_1_8_metric_panels_read_metrics_and_results_by_name(run):
    session, client = run
    pipelines = _pipelines(session)
    for endpoint_id in session.endpoint_ids.values():
        metrics = metric_history(session.backend, session.config.project, endpoint_id=endpoint_id)
        for name, want in metrics.groupby("metric_name"):
            got = client.read(backend="tsdb", table=f"{pipelines}/monitoring-apps/metrics/", start="0", end="now",
                              filter=f"endpoint_id=='{endpoint_id}' AND metric_name=='{name}';".rstrip(";"))
            assert sorted(got["metric_value"]) == pytest.approx(sorted(want["value"]))
        results = result_history(session.backend, session.config.project, endpoint_id=endpoint_id)
        for name, want in results.groupby("result_name"):
            got = client.read(backend="tsdb", table=f"{pipelines}/monitoring-apps/app-results/", start="0",
                              end="now", filter=f"endpoint_id=='{endpoint_id}' AND result_name=='{name}'")
            assert sorted(got["result_value"]) == pytest.approx(sorted(want["value"]))
            assert sorted(got["start_infer_time"]) == sorted(infer_time(int(ms)) for ms in want["start_ms"])
