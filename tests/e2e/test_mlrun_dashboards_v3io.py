"""MLRun's Grafana panels on what a whole pipeline run stores on the ``v3io`` backend.

The seeded demo traffic runs through every function (``DemoSession`` on the V3IO and framesd test servers, as
``test_pipeline_v3io.py``); then each panel's query (docs/mlrun-dashboards.md) goes through the real
``v3io_frames`` client. The rolling figures must equal a pandas computation of MLRun's definitions on the
requests the run stored (the sample store: one row per prediction, with its request's time and latency).
``tests/v3io/test_mlrun_dashboards.py`` checks the same panels on hand-made traffic, in more detail.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
import v3io_frames
from pipeline_checks import demo_config, v3io_storage
from v3io_server.stack import ACCESS_KEY, running_servers

from modelmon.core.paths import ProjectPaths
from modelmon.demo.session import DemoSession
from modelmon.queries import metric_history, result_history
from modelmon.stream.aggregate import MINUTE_MS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    with running_servers() as (web, frames), \
            DemoSession(demo_config(tmp_path_factory, "dashboards"), storage=v3io_storage(web, frames)) as session:
        session.send_traffic()
        session.wait_for_windows(timeout_s=60)
        client = v3io_frames.Client(address=frames.address, container="users", token=ACCESS_KEY)
        yield session, client


def _requests(session: DemoSession, endpoint_id: str) -> pd.DataFrame:
    """Per stored request: its time, its rows (predictions) and its latency."""
    rows = session.backend.samples.read(endpoint_id, 0, 2**62)
    return (rows.groupby("request_id").agg(when=("timestamp", "first"), rows=("timestamp", "size"),
                                           latency=("latency_us", "first")).reset_index())


def _expected(requests: pd.DataFrame, at_ms: int) -> dict[str, float]:
    seen = requests[requests["when"] <= at_ms]
    minute = at_ms // MINUTE_MS * MINUTE_MS
    out = {}
    for suffix, width in (("5m", 5), ("1h", 60)):
        window = seen[seen["when"] // MINUTE_MS * MINUTE_MS > minute - width * MINUTE_MS]
        out[f"predictions_count_{suffix}"] = float(window["rows"].sum())
        out[f"latency_avg_{suffix}"] = float(window["latency"].mean())
    out["predictions_per_second"] = out["predictions_count_5m"] / 300
    return out


def _table(session: DemoSession, name: str) -> str:
    return getattr(ProjectPaths(session.config.project), name).removeprefix("users/")


def test_overview_and_details_kv_panels(run):
    session, client = run
    endpoints = _table(session, "endpoints_table")
    ids = sorted(session.endpoint_ids.values())
    assert sorted(client.read(backend="kv", table=endpoints, columns=["uid"])["uid"]) == ids
    fields = ["uid", "model", "function_uri", "model_class", "first_request", "last_request", "error_count",
              "drift_status"]
    models = client.read(backend="kv", table=endpoints, columns=fields).set_index("uid")
    assert sorted(models.index) == ids and (models["error_count"] == 0).all()
    for endpoint_id in ids:
        requests = _requests(session, endpoint_id)
        frame = client.read(backend="kv", table=endpoints, columns=["metrics"],
                            filter=f'endpoint_type!=\'2\' AND uid=="{endpoint_id}"')
        generic = json.loads(frame["metrics"].iloc[0])["generic"]
        assert generic == pytest.approx(_expected(requests, int(requests["when"].max())))
        first = pd.Timestamp(int(requests["when"].min()), unit="ms", tz="UTC")
        assert models.loc[endpoint_id, "first_request"] == first.isoformat(sep=" ", timespec="microseconds")


@pytest.mark.parametrize("fields", [["predictions_per_second"], ["latency_avg_1h"],
                                    ["latency_avg_5m", "latency_avg_1h"],
                                    ["predictions_count_5m", "predictions_count_1h"]])
def test_overview_and_performance_charts_equal_mlruns_definitions(run, fields):
    session, client = run
    for endpoint_id in session.endpoint_ids.values():
        requests = _requests(session, endpoint_id)
        frame = client.read(backend="tsdb", table=_table(session, "events_tsdb"), columns=fields,
                            filter=f"endpoint_id=='{endpoint_id}' AND endpoint_type!='2'", start="0", end="now")
        assert len(frame) > 0
        for at, row in frame.iterrows():
            want = _expected(requests, int(at.value // 1_000_000))
            assert row[fields].tolist() == pytest.approx([want[f] for f in fields]), at


def test_details_incoming_features(run):
    session, client = run
    endpoint_id = next(iter(session.endpoint_ids.values()))
    frame = client.read(backend="tsdb", table=_table(session, "events_tsdb"), start="0", end="now",
                        filter=f"endpoint_id=='{endpoint_id}'  AND record_type=='endpoint_features'")
    samples = session.backend.samples.read(endpoint_id, 0, 2**62).set_index("timestamp")
    assert len(frame) > 0
    feature = session.model.feature_names[0]
    for at, value in frame[feature.replace("-", "_")].items():
        assert value in samples.loc[[int(at.value // 1_000_000)], feature].tolist()


def test_applications_1_8_predictions_sums_the_estimated_prediction_count(run):
    session, client = run
    for endpoint_id in session.endpoint_ids.values():
        frame = client.read(backend="tsdb", table=_table(session, "predictions_tsdb"), start="0", end="now",
                            filter=f"endpoint_id=='{endpoint_id}'")
        stored = session.backend.samples.read(endpoint_id, 0, 2**62)
        assert frame["estimated_prediction_count"].sum() == len(stored)  # the stat panel's sum: every prediction


DRIFT_APP = "histogram-data-drift"
DISTANCES = ("tvd", "hellinger", "kld")


def _drift_metrics(session: DemoSession, endpoint_id: str) -> pd.DataFrame:
    """The histogram drift app's ``<distance>_mean`` per window end, from modelmon's own metric history."""
    history = metric_history(session.backend, session.config.project, endpoint_id=endpoint_id, app_name=DRIFT_APP)
    return history.pivot_table(index="end_ms", columns="metric_name", values="value")


def test_details_overall_drift_analysis_shows_the_latest_windows_measures(run):
    session, client = run
    endpoints = _table(session, "endpoints_table")
    for endpoint_id in session.endpoint_ids.values():
        frame = client.read(backend="kv", table=endpoints, columns=["drift_measures"],
                            filter=f'uid=="{endpoint_id}"')
        measures = json.loads(frame["drift_measures"].iloc[0])  # the panel extracts the six sums and means
        general = result_history(session.backend, session.config.project, endpoint_id=endpoint_id,
                                 app_name=DRIFT_APP, extra_data=True).query("result_name == 'general_drift'")
        latest = general.sort_values("end_ms").iloc[-1]
        means = _drift_metrics(session, endpoint_id).loc[latest["end_ms"]]
        scored = latest["extra_data"]["features_scored"]
        for distance in DISTANCES:
            assert measures[f"{distance}_mean"] == pytest.approx(means[f"{distance}_mean"])
            assert measures[f"{distance}_sum"] == pytest.approx(means[f"{distance}_mean"] * scored)
        for feature, values in latest["extra_data"]["features"].items():
            assert measures[feature] == {d: values[d] for d in DISTANCES}


def test_current_stats_are_the_latest_windows_statistics(run):
    session, client = run
    endpoints = _table(session, "endpoints_table")
    for endpoint_id in session.endpoint_ids.values():
        frame = client.read(backend="kv", table=endpoints, columns=["current_stats"], filter=f'uid=="{endpoint_id}"')
        current = json.loads(frame["current_stats"].iloc[0])
        windows = result_history(session.backend, session.config.project, endpoint_id=endpoint_id, app_name=DRIFT_APP)
        latest = windows.sort_values("end_ms").iloc[-1]
        rows = session.backend.samples.read(endpoint_id, int(latest["start_ms"]), int(latest["end_ms"]))
        assert len(rows) > 0 and set(current) == set(session.model.feature_names)
        for feature in session.model.feature_names:
            values = rows[feature]
            assert sum(current[feature]["hist"][0]) == int(values.notna().sum())  # every row in one bin
            assert current[feature]["mean"] == pytest.approx(values.mean())


def test_performance_drift_measures_charts_every_windows_means(run):
    session, client = run
    for endpoint_id in session.endpoint_ids.values():
        frame = client.read(backend="tsdb", table=_table(session, "events_tsdb"), start="0", end="now",
                            filter=f"endpoint_id=='{endpoint_id}'  AND record_type=='drift_measures'")
        want = _drift_metrics(session, endpoint_id)
        assert len(want) > 0
        assert [int(t.value // 1_000_000) for t in frame.index] == want.index.tolist()
        columns = [f"{d}_mean" for d in DISTANCES]
        assert frame[columns].to_numpy().ravel().tolist() == pytest.approx(want[columns].to_numpy().ravel().tolist())
