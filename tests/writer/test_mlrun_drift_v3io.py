"""MLRun's drift measures from the histogram drift app's windows on the v3io backend: the endpoint item's
``drift_measures``/``current_stats`` (the *Overall Drift Analysis* panel) and the ``drift_measures`` rows of
the ``events`` TSDB (the *Drift Measures* panel), read back through the real frames client with the panels'
queries. The app runs for real on stored samples; the writer gets its output as the app function sends it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import v3io_frames
from v3io_server.stack import ACCESS_KEY, open_on, running_servers

from modelmon.apps.builtin.histogram_drift import HistogramDataDriftApplication
from modelmon.apps.sdk import MonitoringApplicationContext
from modelmon.apps.sdk.base import run_application
from modelmon.backends.v3io.schema import write_kv_schema
from modelmon.core.paths import ProjectPaths
from modelmon.core.results import ModelMonitoringApplicationResult, ResultKindApp, ResultStatusApp
from modelmon.endpoints.record import MLRUN_UID, ModelEndpoint, schema_fields
from modelmon.endpoints.store import EndpointStore
from modelmon.events import WriterEvent
from modelmon.stats import feature_stats
from modelmon.writer import ResultWriter

PROJECT = "drift"
PATHS = ProjectPaths(PROJECT)
EP = "7d1e55"
APP = "histogram-data-drift"
T0 = 1_764_516_000_000
PERIOD = 600_000
FEATURES = ["age", "income"]


def _rows(window: int, shift: float, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(window)
    start = T0 + window * PERIOD
    return pd.DataFrame({"timestamp": np.linspace(start, start + PERIOD - 1, n).astype("int64"),
                         "request_id": [f"w{window}-{i}" for i in range(n)], "latency_us": 1000.0,
                         "age": rng.normal(40 + shift * 10, 10, n), "income": rng.normal(5.0 + shift * 2, 1.0, n)})


REFERENCE = feature_stats(_rows(99, 0.0, 2000)[FEATURES])


def _window_event(backend, window: int) -> tuple[WriterEvent, dict]:
    """The app's output for a stored window, as the app function hands it to the writer; and its context's
    ``sample_df_stats`` (what MLRun's app stores as ``current_stats``)."""
    start = T0 + window * PERIOD
    context = MonitoringApplicationContext(
        application_name=APP, project_name=PROJECT, endpoint_id=EP,
        start_infer_time=pd.Timestamp(start, unit="ms", tz="UTC"),
        end_infer_time=pd.Timestamp(start + PERIOD, unit="ms", tz="UTC"),
        sample_df=backend.samples.read(EP, start, start + PERIOD), feature_stats=REFERENCE, feature_names=FEATURES)
    results, metrics = run_application(HistogramDataDriftApplication(), context)
    return WriterEvent(PROJECT, EP, APP, start, start + PERIOD, tuple(results), tuple(metrics)), \
        json.loads(json.dumps(context.sample_df_stats))


@pytest.fixture(scope="module")
def stored():
    """Windows 0 (no drift) and 2 (drift) written, then window 1 late: the item keeps window 2's."""
    with running_servers() as (web, frames):
        _, backend = open_on(web, frames, PROJECT)
        store = EndpointStore(backend.kv, PATHS)
        store.create(ModelEndpoint(EP, name="m", project=PROJECT, feature_names=FEATURES, feature_stats=REFERENCE))
        write_kv_schema(backend.objects, PATHS.endpoints_table, MLRUN_UID, schema_fields())  # as the stream does
        for window, shift in ((0, 0.0), (1, 0.5), (2, 2.0)):
            backend.samples.append(EP, _rows(window, shift), f"b{window}")
        events = {w: _window_event(backend, w) for w in (0, 1, 2)}
        writer = ResultWriter(backend, PATHS)
        for window in (0, 2, 1):
            writer.write(events[window][0])
        client = v3io_frames.Client(address=frames.address, container="users", token=ACCESS_KEY)
        yield backend, client, events
        backend.close()


def _measures(client) -> dict:
    """The Overall Drift Analysis panel's query (KV endpoints, ``fields=drift_measures``, ``uid==``)."""
    frame = client.read(backend="kv", table=f"pipelines/{PROJECT}/model-endpoints/endpoints",
                        columns=["drift_measures"], filter=f'uid=="{EP}"')
    return json.loads(frame["drift_measures"].iloc[0])


def test_overall_drift_analysis_shows_the_latest_windows_means_and_sums(stored):
    _, client, events = stored
    event = events[2][0]
    metrics = {m.name: m.value for m in event.metrics}
    general = next(r for r in event.results if r.name == "general_drift")
    measures = _measures(client)
    assert general.status == ResultStatusApp.detected  # the shifted window drifted
    for distance in ("tvd", "hellinger", "kld"):  # the six figures the panel keeps
        assert measures[f"{distance}_mean"] == pytest.approx(metrics[f"{distance}_mean"])
        assert measures[f"{distance}_sum"] == pytest.approx(metrics[f"{distance}_mean"] * len(FEATURES))
    listed = general.extra_data["features"]
    assert set(listed) == set(FEATURES)
    for feature in FEATURES:  # MLRun's per-feature entries, as the app lists them
        assert measures[feature] == {d: listed[feature][d] for d in ("tvd", "hellinger", "kld")}
    assert measures["tvd_mean"] == pytest.approx(np.mean([listed[f]["tvd"] for f in FEATURES]), rel=1e-5)


def test_current_stats_are_the_windows_statistics_over_the_reference_bins(stored):
    backend, client, events = stored
    frame = client.read(backend="kv", table=f"pipelines/{PROJECT}/model-endpoints/endpoints",
                        columns=["current_stats", "drift_status"], filter=f'uid=="{EP}"')
    current = json.loads(frame["current_stats"].iloc[0])
    assert current == events[2][1]  # what the app's context computed for window 2 (MLRun's current_stats)
    rows = backend.samples.read(EP, T0 + 2 * PERIOD, T0 + 3 * PERIOD)
    counts, edges = current["age"]["hist"]
    inner, _ = np.histogram(rows["age"], bins=np.asarray(REFERENCE["age"]["hist"][1]))
    assert counts[1:-1] == inner.tolist() and sum(counts) == len(rows) == 400
    assert -edges[0] == edges[-1] == np.finfo(np.float64).max  # MLRun's padding
    assert current["age"]["mean"] == pytest.approx(rows["age"].mean())
    assert frame["drift_status"].iloc[0] == 2


def test_drift_measures_panel_charts_every_window_in_time_order(stored):
    _, client, events = stored
    frame = client.read(backend="tsdb", table=f"pipelines/{PROJECT}/model-endpoints/events", start="0", end="now",
                        filter=f"endpoint_id=='{EP}'  AND record_type=='drift_measures'")
    got = {int(t.value // 1_000_000): row for t, row in frame.iterrows()}
    # the late window 1 is older than the series' latest (window 2): MLRun's TSDB drops it, as its own rows
    assert sorted(got) == [T0 + PERIOD, T0 + 3 * PERIOD]
    for window, end in ((0, T0 + PERIOD), (2, T0 + 3 * PERIOD)):
        metrics = {m.name: m.value for m in events[window][0].metrics}
        assert got[end][["tvd_mean", "hellinger_mean", "kld_mean"]].tolist() == pytest.approx(
            [metrics["tvd_mean"], metrics["hellinger_mean"], metrics["kld_mean"]])


def test_another_apps_higher_status_does_not_keep_the_measures_out():
    """The drift status is the highest of a window's results, any app's; the measures are the histogram
    app's alone, so another app's detection stored first for the same window leaves them to be written."""
    with running_servers() as (web, _frames):
        _, backend = open_on(web, _frames, PROJECT)
        try:
            store = EndpointStore(backend.kv, PATHS)
            store.create(ModelEndpoint(EP, name="m", project=PROJECT, feature_names=FEATURES,
                                       feature_stats=REFERENCE))
            backend.samples.append(EP, _rows(0, 0.0), "b0")
            event, stats = _window_event(backend, 0)
            other = ModelMonitoringApplicationResult("accuracy_drop", 0.4, ResultKindApp.model_performance,
                                                     ResultStatusApp.detected)
            writer = ResultWriter(backend, PATHS)
            writer.write(WriterEvent(PROJECT, EP, "perf", event.start_ms, event.end_ms, (other,)))
            writer.write(event)
            item = store.item(EP)
            assert item is not None and item["drift_status"] == 2
            assert json.loads(item["current_stats"]) == stats
            assert json.loads(item["drift_measures"])["tvd_mean"] == pytest.approx(
                next(m.value for m in event.metrics if m.name == "tvd_mean"))
        finally:
            backend.close()


def test_current_stats_of_a_wide_endpoint_keep_within_a_v3io_attribute():
    """110 features' window statistics are over V3IO's 61,200-byte attribute (their reference, of short
    whole-number edges, is not): the features that fit are kept whole, in order."""
    wide = [f"f{i:03d}" for i in range(110)]
    rng = np.random.default_rng(0)
    rows = pd.DataFrame(rng.normal(10, 5, size=(200, len(wide))), columns=wide).assign(
        timestamp=np.arange(T0, T0 + 200, dtype="int64"), request_id=[f"r{i}" for i in range(200)])
    reference = feature_stats(pd.DataFrame(rng.integers(0, 20, size=(500, len(wide))).astype(float), columns=wide))
    assert len(json.dumps(reference)) < 60_000
    with running_servers() as (web, frames):
        _, backend = open_on(web, frames, PROJECT)
        try:
            store = EndpointStore(backend.kv, PATHS)
            store.create(ModelEndpoint(EP, name="m", project=PROJECT, feature_names=wide, feature_stats=reference))
            backend.samples.append(EP, rows, "b0")
            general = ModelMonitoringApplicationResult(
                "general_drift", 0.1, ResultKindApp.data_drift, ResultStatusApp.no_detection,
                {"features_scored": len(wide), "features": {"f000": {"tvd": 0.1, "hellinger": 0.1, "kld": 0.0}}})
            ResultWriter(backend, PATHS).write(WriterEvent(PROJECT, EP, APP, T0, T0 + PERIOD, (general,)))
            text = store.item(EP)["current_stats"]
            current = json.loads(text)
            assert len(text.encode()) <= 60_000
            kept = list(current)
            assert 10 < len(kept) < len(wide) and kept == wide[:len(kept)]
            assert all(sum(current[name]["hist"][0]) == 200 for name in kept)  # each kept feature is whole
            assert len(text.encode()) + len(json.dumps({wide[len(kept)]: {}})) > 59_000  # as many as fit
        finally:
            backend.close()
