"""MLRun's Grafana panels on what a whole pipeline run stores on the ``v3io`` backend.

The seeded demo traffic runs through every function (``DemoSession`` on the V3IO and framesd test servers, as
``test_pipeline_v3io.py``). Between its second and third windows, endpoint A's model server sends a few more
records through modelmon's tracking client (:func:`_send_server_traffic`): answered requests carrying the
server's own metrics, and error events. Then each panel's query (docs/mlrun-dashboards.md: table, fields and
filter as the panel sends them) goes through the real ``v3io_frames`` client. The rolling figures must equal
a pandas computation of MLRun's definitions on the requests the run stored (the sample store: one row per
prediction, with its request's time and latency; error events store no row and count no prediction).
``tests/v3io/test_mlrun_dashboards.py`` checks the same panels on hand-made traffic, in more detail.
"""

from __future__ import annotations

import dataclasses
import json
import time

import pandas as pd
import pytest
import v3io_frames
from pipeline_checks import demo_config, v3io_storage
from v3io_server.stack import ACCESS_KEY, running_servers

from modelmon.core.paths import ProjectPaths
from modelmon.demo.session import DemoSession
from modelmon.endpoints.record import drift_status_value
from modelmon.queries import metric_history, result_history
from modelmon.stream.aggregate import MINUTE_MS
from modelmon.stream.live_stats import EVENTS_LABELS, tsdb_name
from modelmon.tracking import TrackedModel, TrackingClient

pytestmark = pytest.mark.slow

SERVER_SCENARIO, SERVER_WINDOW = "A", 2  # whose server sends the extra records, in the gap before which window
#: The extra tracking records, per request: the server's metrics with the answer, or ``None`` for an error event.
SERVER_RECORDS: tuple[tuple[dict[str, float] | None, ...], ...] = (
    ({"accuracy": 0.91, "p-99": 12.0}, {"accuracy": 0.92, "p-99": 12.0}, {"accuracy": 0.93, "p-99": 14.0}),
    ({"accuracy": 0.8, "p-99": 20.0}, None, {"accuracy": 0.75, "p-99": 21.0}, None),
    (None, None),  # errors only
)


@dataclasses.dataclass(frozen=True)
class ServerTraffic:
    """What endpoint A's server sent besides the demo traffic."""

    endpoint_id: str
    errors: int
    #: the ``custom_metrics`` rows due: per record with metrics, its last answered request's time and metrics
    metrics_rows: list[tuple[int, dict[str, float]]]
    record_ends: list[int]  # each record's last event time (an error's for two of them)


@dataclasses.dataclass(frozen=True)
class Run:
    session: DemoSession
    client: v3io_frames.Client
    server: ServerTraffic


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    with running_servers() as (web, frames), \
            DemoSession(demo_config(tmp_path_factory, "dashboards"), storage=v3io_storage(web, frames)) as session:
        session.send_traffic(range(SERVER_WINDOW))
        server = _send_server_traffic(session)
        session.send_traffic(range(SERVER_WINDOW, session.config.windows))
        session.wait_for_windows(timeout_s=60)
        _wait_for_the_writer(session)
        client = v3io_frames.Client(address=frames.address, container="users", token=ACCESS_KEY)
        yield Run(session, client, server)


def _send_server_traffic(session: DemoSession) -> ServerTraffic:
    """:data:`SERVER_RECORDS` through the tracking client, as endpoint A's model server sends them: one record
    each (flushed one by one, keyed by the endpoint as the demo's, so the stream keeps them in time order),
    one millisecond apart, after the demo's last request of the window before and before its first of
    :data:`SERVER_WINDOW`: no window closes early and the rolling figures see the requests in time order."""
    generator, model = session.generator, session.model
    scenario = next(s for s in session.scenarios if s.key == SERVER_SCENARIO)
    endpoint_id = session.endpoint_ids[scenario.key]
    first = generator.plan.window_starts[SERVER_WINDOW]
    assert first + sum(map(len, SERVER_RECORDS)) < generator.plan.times(SERVER_WINDOW)[0]  # the gap holds them
    tracked = TrackedModel(model=scenario.name, function_uri=generator.function_uri, version="1",
                           model_class="sklearn.linear_model.LogisticRegression", endpoint_id=endpoint_id)
    client = TrackingClient(session.backend.streams, session.paths.tracking_stream, tracked, max_delay_s=60)
    rows = model.reference.to_numpy()
    at, errors, metrics_rows, ends = first, 0, [], []
    try:
        for r, record in enumerate(SERVER_RECORDS):
            last = None
            for i, metrics in enumerate(record):
                row = rows[at % len(rows)]
                outputs = None if metrics is None else model.predict(row.reshape(1, -1)).tolist()
                assert client.record(f"server-{r}-{i}", [row.tolist()], outputs, at * 1_000_000, 1_500 + 10 * i,
                                     error=None if metrics else "ValueError: bad input", metrics=metrics)
                errors += metrics is None
                last = (at, metrics) if metrics else last
                at += 1
            assert client.flush(timeout=10)
            ends.append(at - 1)
            if last is not None:
                metrics_rows.append(last)
    finally:
        client.close()
    assert client.stats()["records"] == len(SERVER_RECORDS)
    return ServerTraffic(endpoint_id, errors, metrics_rows, ends)


def _wait_for_the_writer(session: DemoSession, timeout_s: float = 30) -> None:
    """Until each endpoint item holds its last window's drift figures. ``wait_for_windows`` returns once the
    results are in the history, which the writer stores first; the item's ``drift_status`` (the highest status
    of the endpoint's latest window), ``drift_measures`` and ``current_stats`` follow just after."""
    last_end = session.generator.plan.window_starts[-1] + session.generator.plan.period_ms
    history = session.history()
    last = history[history["end_ms"] == last_end]
    statuses = {e: int(s) for e, s in last.groupby("endpoint_id")["status"].max().items()}
    deadline = time.monotonic() + timeout_s
    while True:
        got = {e: _drift_state(session.backend.kv.get(session.paths.endpoints_table, e) or {}) for e in statuses}
        behind = {e: state for e, state in got.items() if state != (last_end, last_end, statuses[e])}
        if not behind and len(statuses) == len(session.endpoint_ids):
            return
        assert time.monotonic() < deadline, f"endpoint items not at window end {last_end} with {statuses}: {behind}"
        time.sleep(0.2)


def _drift_state(item: dict) -> tuple:
    """The window end of an endpoint item's drift status and drift measures, and the status."""
    status = drift_status_value(item.get("drift_status"))
    return item.get("drift_status_end_ms"), item.get("drift_measures_end_ms"), status


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


def _latest(session: DemoSession, endpoint_id: str) -> dict[str, float]:
    """MLRun's figures as of the endpoint's last stored request (what its item's ``metrics`` hold)."""
    requests = _requests(session, endpoint_id)
    return _expected(requests, int(requests["when"].max()))


def _table(session: DemoSession, name: str) -> str:
    return getattr(ProjectPaths(session.config.project), name).removeprefix("users/")


def _text_time(ms: int) -> str:
    """A request time as the endpoint item's ``first_request``/``last_request`` hold it (MLRun's ``when``)."""
    return pd.Timestamp(ms, unit="ms", tz="UTC").isoformat(sep=" ", timespec="microseconds")


def _errors(run: Run) -> dict[str, int]:
    return {e: run.server.errors if e == run.server.endpoint_id else 0 for e in run.session.endpoint_ids.values()}


def test_endpoints_stat_and_picker_list_every_endpoint(run):
    session, client = run.session, run.client
    frame = client.read(backend="kv", table=_table(session, "endpoints_table"), columns=["uid"])
    assert sorted(frame["uid"]) == sorted(session.endpoint_ids.values())


@pytest.mark.parametrize("figure", ["predictions_per_second", "latency_avg_1h"])
def test_overview_figure_stats_show_each_endpoints_latest_figures(run, figure):
    session, client = run.session, run.client
    frame = client.read(backend="kv", table=_table(session, "endpoints_table"), columns=["metrics"],
                        filter="endpoint_type!='2'")
    got = sorted(json.loads(metrics)["generic"][figure] for metrics in frame["metrics"])
    want = sorted(_latest(session, endpoint_id)[figure] for endpoint_id in session.endpoint_ids.values())
    assert got == pytest.approx(want)


def test_overview_errors_stat_counts_the_error_events_sent(run):
    session, client = run.session, run.client
    frame = client.read(backend="kv", table=_table(session, "endpoints_table"), columns=["error_count"])
    assert sorted(frame["error_count"]) == sorted(_errors(run).values())
    assert frame["error_count"].sum() == run.server.errors == 4  # the panel's reduction: their sum


def test_overview_models_table(run):
    session, client = run.session, run.client
    fields = ["uid", "model", "function_uri", "model_class", "first_request", "last_request", "error_count",
              "drift_status"]
    models = client.read(backend="kv", table=_table(session, "endpoints_table"), columns=fields).set_index("uid")
    names = {s.key: s.name for s in session.scenarios}
    assert sorted(models.index) == sorted(session.endpoint_ids.values())
    assert models["error_count"].to_dict() == _errors(run)
    for key, endpoint_id in session.endpoint_ids.items():
        requests = _requests(session, endpoint_id)
        row = models.loc[endpoint_id]
        assert (row["model"], row["function_uri"], row["model_class"]) == (
            names[key], session.generator.function_uri, "sklearn.linear_model.LogisticRegression")
        assert row["first_request"] == _text_time(int(requests["when"].min()))
        assert row["last_request"] == _text_time(int(requests["when"].max()))  # the demo's, after every error
        history = result_history(session.backend, session.config.project, endpoint_id=endpoint_id)
        assert row["drift_status"] == history[history["end_ms"] == history["end_ms"].max()]["status"].max()


def test_details_endpoint_table_shows_the_picked_endpoint(run):
    session, client = run.session, run.client
    fields = ["uid", "model", "function_uri", "model_class", "first_request", "metrics", "last_request"]
    for key, endpoint_id in session.endpoint_ids.items():
        frame = client.read(backend="kv", table=_table(session, "endpoints_table"), columns=fields,
                            filter=f'uid=="{endpoint_id}"')
        assert len(frame) == 1
        row = frame.iloc[0]
        requests = _requests(session, endpoint_id)
        assert (row["uid"], row["model"]) == (endpoint_id, next(s.name for s in session.scenarios if s.key == key))
        assert (row["first_request"], row["last_request"]) == (_text_time(int(requests["when"].min())),
                                                               _text_time(int(requests["when"].max())))
        assert json.loads(row["metrics"])["generic"] == pytest.approx(_latest(session, endpoint_id))


#: The chart panels of the ``events`` TSDB's rolling figures: fields, and filter (``{id}``: the picked endpoint).
CHARTS = {
    "overview predictions/s heatmap": (["predictions_per_second"], "endpoint_type!='2'"),
    "overview average latency heatmap": (["latency_avg_1h"], "endpoint_type!='2'"),
    "performance average latency": (["latency_avg_5m", "latency_avg_1h"], "endpoint_id=='{id}'"),
    "performance predictions/s": (["predictions_per_second"], "endpoint_id=='{id}'"),
    "performance predictions count": (["predictions_count_5m", "predictions_count_1h"], "endpoint_id=='{id}'"),
}


@pytest.mark.parametrize("panel", list(CHARTS))
def test_rolling_figure_charts_equal_mlruns_definitions(run, panel):
    session, client = run.session, run.client
    fields, where = CHARTS[panel]
    if "{id}" in where:
        frames = {e: client.read(backend="tsdb", table=_table(session, "events_tsdb"), columns=fields,
                                 filter=where.format(id=e), start="0", end="now")
                  for e in session.endpoint_ids.values()}
    else:  # every endpoint's series in one read, told apart by their endpoint_id label
        frame = client.read(backend="tsdb", table=_table(session, "events_tsdb"), columns=fields, filter=where,
                            start="0", end="now")
        frames = {str(e): rows for e, rows in frame.groupby("endpoint_id", observed=True)}
    assert sorted(frames) == sorted(session.endpoint_ids.values())
    for endpoint_id, frame in frames.items():
        requests = _requests(session, endpoint_id)
        assert len(frame) > 0
        for at, row in frame.iterrows():
            want = _expected(requests, int(at.value // 1_000_000))
            assert row[fields].tolist() == pytest.approx([want[f] for f in fields]), at
    # a row per stream record, at its last event: for the server's records that end with errors, at that error
    charted = {int(t.value // 1_000_000) for t in frames[run.server.endpoint_id].index}
    assert set(run.server.record_ends) <= charted


def test_details_incoming_features(run):
    session, client = run.session, run.client
    for endpoint_id in session.endpoint_ids.values():
        frame = client.read(backend="tsdb", table=_table(session, "events_tsdb"), start="0", end="now",
                            filter=f"endpoint_id=='{endpoint_id}'  AND record_type=='endpoint_features'")
        samples = session.backend.samples.read(endpoint_id, 0, 2**62).set_index("timestamp")
        assert len(frame) > 0
        feature = session.model.feature_names[0]
        for at, value in frame[feature.replace("-", "_")].items():
            assert value in samples.loc[[int(at.value // 1_000_000)], feature].tolist()


def test_performance_custom_metrics_chart_the_servers_metrics(run):
    session, client = run.session, run.client
    for endpoint_id in session.endpoint_ids.values():
        frame = client.read(backend="tsdb", table=_table(session, "events_tsdb"), start="0", end="now",
                            filter=f"endpoint_id=='{endpoint_id}'  AND record_type=='custom_metrics'")
        if endpoint_id != run.server.endpoint_id:
            assert frame.empty  # the demo's servers send no metrics
            continue
        sent = run.server.metrics_rows
        assert len(sent) == 2  # the two records with answers; the errors-only one has none
        assert [int(t.value // 1_000_000) for t in frame.index] == [at for at, _ in sent]
        names = [tsdb_name(n) for n in sent[0][1]]
        assert sorted(set(frame.columns) - set(EVENTS_LABELS)) == sorted(names) == ["accuracy", "p_99"]
        assert frame[names].to_numpy().tolist() == [list(metrics.values()) for _, metrics in sent]


def test_applications_1_8_predictions_sums_the_estimated_prediction_count(run):
    session, client = run.session, run.client
    for endpoint_id in session.endpoint_ids.values():
        frame = client.read(backend="tsdb", table=_table(session, "predictions_tsdb"), start="0", end="now",
                            filter=f"endpoint_id=='{endpoint_id}'")
        stored = session.backend.samples.read(endpoint_id, 0, 2**62)
        assert frame["estimated_prediction_count"].sum() == len(stored)  # the stat panel's sum: every prediction


def test_applications_1_8_error_count_metric_counts_each_windows_error_events(run):
    """The system-performance app's ``error_count`` metric, as the 1.8+ metric panels read it: the error events
    in the window they were sent in, 0 elsewhere."""
    session, client = run.session, run.client
    plan = session.generator.plan
    table = _table(session, "endpoints_table").rsplit("/", 2)[0] + "/monitoring-apps/metrics/"
    for endpoint_id, errors in _errors(run).items():
        frame = client.read(backend="tsdb", table=table, start="0", end="now",
                            filter=f"endpoint_id=='{endpoint_id}' AND metric_name=='error_count'")
        got = dict(zip((int(t.value // 1_000_000) for t in frame.index), frame["metric_value"], strict=True))
        assert got == {start + plan.period_ms: errors if w == SERVER_WINDOW else 0
                       for w, start in enumerate(plan.window_starts)}


DRIFT_APP = "histogram-data-drift"
DISTANCES = ("tvd", "hellinger", "kld")


def _drift_metrics(session: DemoSession, endpoint_id: str) -> pd.DataFrame:
    """The histogram drift app's ``<distance>_mean`` per window end, from modelmon's own metric history."""
    history = metric_history(session.backend, session.config.project, endpoint_id=endpoint_id, app_name=DRIFT_APP)
    return history.pivot_table(index="end_ms", columns="metric_name", values="value")


def test_details_overall_drift_analysis_shows_the_latest_windows_measures(run):
    session, client = run.session, run.client
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
    session, client = run.session, run.client
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
    session, client = run.session, run.client
    for endpoint_id in session.endpoint_ids.values():
        frame = client.read(backend="tsdb", table=_table(session, "events_tsdb"), start="0", end="now",
                            filter=f"endpoint_id=='{endpoint_id}'  AND record_type=='drift_measures'")
        want = _drift_metrics(session, endpoint_id)
        assert len(want) > 0
        assert [int(t.value // 1_000_000) for t in frame.index] == want.index.tolist()
        columns = [f"{d}_mean" for d in DISTANCES]
        assert frame[columns].to_numpy().ravel().tolist() == pytest.approx(want[columns].to_numpy().ravel().tolist())

