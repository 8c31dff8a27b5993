"""MLRun apps run with only their imports changed (issue 21, the app context): a 1.6 tutorial-style app, a 1.7
tutorial-style app and a function-hub-style count app (``mlrun_sources``), through ``evaluate()`` and on live
traffic: tracked requests through the stream function's ingestor, the controller's windows, the app runner
and the writer, read back through the project SDK."""

from __future__ import annotations

import json
import logging
import sys

import numpy as np
import pandas as pd
import pytest
from mlrun_sources import SOURCES, import_ported, port

import modelmon
from modelmon.apps.registry import AppRegistry
from modelmon.apps.runner.runner import AppRunner
from modelmon.apps.sdk import list_artifacts
from modelmon.backends.memory import InMemoryObjectStore
from modelmon.controller import Controller
from modelmon.core.paths import ProjectPaths
from modelmon.events import tracking_body
from modelmon.stream import Ingestor, RawRecord
from modelmon.testing import stream_records
from modelmon.writer import ResultWriter

PROJECT = "ported"
PERIOD = 600_000
T0 = 1_764_516_000_000  # 2025-11-30T15:20Z, a multiple of the period
ROWS = 20
BIG = sys.float_info.max


def _reference() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    return pd.DataFrame({"x": rng.normal(0, 1, 1000), "y": rng.uniform(0, 10, 1000)})


def _window(k: int, shift: float) -> pd.DataFrame:
    """Window ``k`` as stored rows: what the stream function keeps (bookkeeping columns included)."""
    rng = np.random.default_rng(k)
    return pd.DataFrame({
        "timestamp": T0 + k * PERIOD + np.arange(ROWS) * (PERIOD // ROWS),
        "request_id": [f"w{k}-{i}" for i in range(ROWS)], "latency_us": 250,
        "x": rng.normal(shift, 1, ROWS), "y": rng.uniform(0, 10, ROWS), "churned": np.arange(ROWS) % 2,
    })


@pytest.fixture
def apps(tmp_path, monkeypatch):
    """The three ported modules, importable by name from a temporary folder."""
    monkeypatch.syspath_prepend(str(tmp_path))
    modules = {name: import_ported(tmp_path, name) for name in SOURCES}
    yield modules
    for name in SOURCES:
        sys.modules.pop(name, None)


def test_porting_changes_only_import_lines_and_leaves_no_mlrun_name():
    for name, source in SOURCES.items():
        ported, changed = port(source)
        assert changed and all(line.startswith(("from mlrun", "import mlrun")) for line in changed), name
        assert "mlrun" not in ported.replace("MLRun", ""), name
        assert len(ported.splitlines()) == len(source.splitlines()), name


def test_the_16_app_through_evaluate_sees_padded_stats_a_zero_index_and_logs_its_table(apps, caplog):
    objects = InMemoryObjectStore()
    # the window: rows 10..29 of a frame, as a slice of a user's data would be; x shifted by 3
    sample = pd.concat([_window(0, 0.0), _window(1, 3.0)], ignore_index=True).iloc[ROWS:]
    with caplog.at_level(logging.INFO, logger="modelmon.app"):
        out = apps["snapshot_16"].WindowSnapshot().evaluate(sample, reference_df=_reference(), objects=objects,
                                                            endpoint_id="ep16")
    rows = out.set_index("name")
    assert rows.loc["first_x", "value"] == pytest.approx(sample["x"].iloc[0])  # sample_df["x"][0]: indexed from 0
    assert rows.loc["max_tvd", "status_name"] == "detected" and 0.5 < rows.loc["max_tvd", "value"] <= 1.0
    assert "Taking a snapshot: {'endpoint_id': 'ep16', 'rows': 20}" in caplog.messages
    [table] = list_artifacts(objects, "evaluate")
    assert (table.app_name, table.endpoint_id, table.format) == ("window-snapshot", "ep16", "csv")
    # MLRun 1.6 accepted "sample_df_2025-11-30 15:30:00+00:00": it is stored under a sanitised name
    assert table.name == "sample_df_2025-11-30_15_30_00_00_00"
    stored = pd.read_csv(pd.io.common.BytesIO(objects.get_object(table.path)))
    assert list(stored.columns) == ["timestamp", "x", "y", "churned"]  # no request_id or latency_us
    assert stored["x"].tolist() == pytest.approx(sample["x"].tolist())


def test_the_17_app_through_evaluate_uses_the_endpoint_object_and_every_logging_method(apps, caplog):
    objects = InMemoryObjectStore()
    app = apps["report_17"].EndpointReport()
    with caplog.at_level(logging.INFO, logger="modelmon.app"):
        out = app.evaluate(_window(0, 0.0), reference_df=_reference(), objects=objects, endpoint_id="ep17",
                           model_endpoint={"name": "churn", "reference_performance": {"accuracy": 0.9}})
    seen = out.set_index("name")
    assert seen.loc["rows", "value"] == ROWS
    assert seen.loc["max_tvd", "status_name"] == "no_detection"
    assert seen.loc["max_tvd", "extra_data"]["bins"] == 22  # 20 bins and MLRun's two padding bins
    assert "Reporting on endpoint: {'name': 'churn', 'uid': 'ep17', 'features': ['x', 'y']}" in caplog.messages
    assert "Reporting on endpoint" in caplog.messages  # nuclio_logger: the app logger outside a function
    stored = {a.name: a for a in list_artifacts(objects, "evaluate")}
    assert sorted(stored) == ["project_note", "sample_df_2025-11-30_15_20_00_00_00", "statistics", "window_means",
                              "window_means-spec", "window_rows"]
    assert stored["window_rows"].format == "parquet" and stored["window_means"].format == "binary"
    assert stored["project_note"].endpoint_id == "_all"  # project-level: shared by the app's endpoints
    assert objects.get_object(stored["project_note"].path) == b"evaluate: churn"
    assert json.loads(objects.get_object(stored["window_means-spec"].path))["metrics"] == {"rows": ROWS}
    statistics = json.loads(objects.get_object(stored["statistics"].path))
    for side in ("reference", "window"):
        counts, edges = statistics[side]["x"]["hist"]
        assert len(counts) == 22 and edges[0] == -BIG and edges[-1] == BIG
    assert sum(statistics["window"]["x"]["hist"][0]) == ROWS
    assert statistics["reference"]["x"]["hist"][0][0] == 0 == statistics["reference"]["x"]["hist"][0][-1]


def test_the_count_app_through_evaluate_logs_its_fields(apps, caplog):
    with caplog.at_level(logging.DEBUG, logger="modelmon.app"):
        out = apps["count_hub"].EventCounter.evaluate(_window(0, 0.0), endpoint_id="ep-count",
                                                       model_endpoint={"name": "churn"})
    assert out[["type", "name", "value"]].to_dict("records") == [{"type": "metric", "name": "count", "value": 20.0}]
    [debug, info] = [r for r in caplog.records if r.name == "modelmon.app.EventCounter"]
    assert debug.levelname == "DEBUG" and debug.getMessage().startswith("The window: {'sample_df':")
    assert debug.fields["sample_df"].shape == (ROWS, 4)  # handlers get the fields themselves too
    assert info.getMessage() == (
        "Events counted: {'endpoint_name': 'churn', 'count': 20, "
        "'start': Timestamp('2025-11-30 15:20:00+0000', tz='UTC'), "
        "'end': Timestamp('2025-11-30 15:29:30.001000+0000', tz='UTC')}")


class _NuclioLogger:
    """What a Nuclio context's logger takes: a message and positional arguments, no keyword fields."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, message: str, *args: object) -> None:
        self.lines.append(message % args if args else message)


@pytest.fixture
def live(home, apps):
    """Two windows of tracked traffic to endpoint ``churn`` (``x`` shifted by 4 in the second), each ported app
    run on each window by the app runner and written by the writer, as the deployed functions do."""
    with modelmon.get_or_create_project(PROJECT, home=home) as project:
        backend, paths = project.backend, ProjectPaths(PROJECT)
        endpoint = project.register_model_endpoint("churn", reference_data=_reference(), label_names=["churned"],
                                                   model_version="3")
        ingestor = Ingestor(backend, PROJECT)
        ingestor.setup()
        for k, shift in enumerate((0.0, 4.0)):
            rows = _window(k, shift)
            requests = [{"request": {"id": rid, "inputs": [[x, y]]}, "resp": {"outputs": [int(c)]},
                         "when": int(t), "microsec": 250}
                        for rid, t, x, y, c in zip(rows["request_id"], rows["timestamp"], rows["x"], rows["y"],
                                                   rows["churned"], strict=True)]
            ingestor.process(RawRecord(tracking_body(model="churn", function_uri=f"{PROJECT}/serving",
                                                     requests=requests, version="3")))
        # a request of the next window: the endpoint's watermark passes the end of the second
        late = {"request": {"id": "next", "inputs": [[0.0, 1.0]]}, "resp": {"outputs": [0]}, "when": T0 + 2 * PERIOD,
                "microsec": 250}
        ingestor.process(RawRecord(tracking_body(model="churn", function_uri=f"{PROJECT}/serving", version="3",
                                                 requests=[late])))
        instances = {"window-snapshot": apps["snapshot_16"].WindowSnapshot(),
                     "endpoint-report": apps["report_17"].EndpointReport(),
                     "event-counter": apps["count_hub"].EventCounter()}
        registry = AppRegistry(backend.kv, paths)
        for name, app in instances.items():
            registry.register(name, f"{type(app).__module__}:{type(app).__name__}")
        report = Controller(backend, paths, clock=lambda: T0 + 2 * PERIOD + 60_000).run()
        assert report.windows_dispatched == 2 * len(instances)
        nuclio = _NuclioLogger()
        writer = ResultWriter(backend, paths)
        for name, app in instances.items():
            runner = AppRunner(app, name, backend, paths, nuclio_logger=nuclio)
            for record in stream_records(backend.streams, paths.app_stream(name)):
                event = runner.handle(record.data)
                assert event is not None and event.error is None, event and event.traceback
        for record in stream_records(backend.streams, paths.writer_stream):
            writer.handle(record.data)
        yield project, endpoint.endpoint_id, nuclio


def test_live_windows_give_each_ported_app_the_mlrun_context(live, caplog):
    project, endpoint_id, nuclio = live
    results = project.get_results(endpoint_id=endpoint_id, history=True)
    by_name = {name: group.sort_values("end_ms") for name, group in results.groupby("result_name")}
    assert by_name["max_tvd"]["app_name"].nunique() == 2  # the 1.6 and the 1.7 app both judge drift
    for app_name in ("window-snapshot", "endpoint-report"):
        statuses = by_name["max_tvd"][by_name["max_tvd"]["app_name"] == app_name]["status_name"].tolist()
        assert statuses == ["no_detection", "detected"], app_name
    first_x = by_name["first_x"]["value"].tolist()
    stored = project.backend.samples.read(endpoint_id, T0, T0 + 2 * PERIOD)
    assert first_x == pytest.approx([stored["x"].iloc[0], stored["x"].iloc[ROWS]])
    metrics = project.get_metrics(endpoint_id=endpoint_id)
    named = sorted(zip(metrics["metric_name"], metrics["value"], strict=True))
    assert named == [("count", 20.0)] * 2 + [("rows", 20.0)] * 2
    assert nuclio.lines == ["Reporting on endpoint", "Reporting on endpoint"]
    logged = [r.getMessage() for r in caplog.get_records("setup") if r.name.startswith("modelmon.app.")]
    assert f"Reporting on endpoint: {{'name': 'churn', 'uid': '{endpoint_id}', 'features': ['x', 'y']}}" in logged
    assert f"Taking a snapshot: {{'endpoint_id': '{endpoint_id}', 'rows': 20}}" in logged
    assert sum(line.startswith("Events counted: {'endpoint_name': 'churn', 'count': 20,") for line in logged) == 2


def test_live_windows_store_the_ported_apps_artifacts(live):
    project, endpoint_id, _ = live
    artifacts = list_artifacts(project.backend.objects, PROJECT)
    names = sorted({(a.app_name, a.name) for a in artifacts})
    assert ("window-snapshot", "sample_df_2025-11-30_15_20_00_00_00") in names
    assert ("window-snapshot", "sample_df_2025-11-30_15_30_00_00_00") in names
    assert {n for app, n in names if app == "endpoint-report"} >= {"statistics", "window_rows", "project_note"}
    [note] = [a for a in artifacts if a.name == "project_note" and a.start_ms == T0]
    assert project.backend.objects.get_object(note.path) == b"ported: churn"
    [table] = [a for a in artifacts
               if a.name == "sample_df_2025-11-30_15_20_00_00_00" and a.app_name == "window-snapshot"]
    stored = pd.read_csv(pd.io.common.BytesIO(project.backend.objects.get_object(table.path)))
    assert list(stored.columns) == ["timestamp", "x", "y", "churned"]  # MLRun's columns: no request_id, latency_us
    assert stored["timestamp"][0] == "2025-11-30 15:20:00+00:00"  # a UTC datetime, as MLRun's
    rows = project.backend.samples.read(endpoint_id, T0, T0 + PERIOD)
    assert stored["x"].tolist() == pytest.approx(rows["x"].tolist()) and len(stored) == ROWS
