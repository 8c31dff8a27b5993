"""Each window's ``extra_data`` in the history, on both backends (``v3io`` through the real v3io client to
the protocol servers under ``tests/``): stored per window, newest computation wins as in the TSDB, old
history reads ``{}``, and a huge ``extra_data`` is cut below V3IO's text-attribute size. The latest
metrics per endpoint and app likewise."""

from __future__ import annotations

import contextlib
import json

import pandas as pd
import pytest
from v3io_server.stack import v3io_backend

from modelmon.backends.local import open_local_backend
from modelmon.core.paths import ProjectPaths
from modelmon.core.results import (
    ModelMonitoringApplicationMetric,
    ModelMonitoringApplicationResult,
    ResultKindApp,
    ResultStatusApp,
)
from modelmon.endpoints.record import ModelEndpoint
from modelmon.events import WriterEvent
from modelmon.queries import latest_metrics, latest_results, metric_history, result_history
from modelmon.writer import ResultWriter
from modelmon.writer.history import MAX_EXTRA_DATA_BYTES, TRUNCATED, HistoryWriter, bounded_extra_data

PROJECT = "p"
PATHS = ProjectPaths(PROJECT)
PERIOD = 600_000
T0 = 1_700_000_000_000 // PERIOD * PERIOD
NO, DETECTED = ResultStatusApp.no_detection, ResultStatusApp.detected


@pytest.fixture(params=["local", "v3io"])
def backend(request, tmp_path):
    if request.param == "local":
        opener = contextlib.nullcontext(lambda: open_local_backend(str(tmp_path / "home")))
    else:
        opener = v3io_backend(tmp_path)
    with opener as open_backend:
        b = open_backend()
        b.kv.put(PATHS.endpoints_table, "ep1", ModelEndpoint("ep1", name="model-1").to_item())
        yield b
        b.close()


def _window(k: int, drifted: list[str], value: float = 0.5) -> WriterEvent:
    extra = {"drifted_features": drifted, "note": f"window {k}", "quoted": "it's a \\ path"}  # V3IO: typed put
    result = ModelMonitoringApplicationResult("share", value, ResultKindApp.data_drift,
                                              DETECTED if drifted else NO, extra)
    return WriterEvent(PROJECT, "ep1", "drift", T0 + k * PERIOD, T0 + (k + 1) * PERIOD, (result,))


def _extras(backend) -> list[tuple[int, dict]]:
    history = result_history(backend, PROJECT, extra_data=True)
    return [((r.start_ms - T0) // PERIOD, r.extra_data) for r in history.itertuples()]


def test_every_window_keeps_its_extra_data_and_a_recomputation_replaces_it(backend):
    writer = ResultWriter(backend, PATHS)
    for k, drifted in ((1, ["age"]), (2, [])):
        writer.write(_window(k, drifted))
    writer.write(_window(0, ["income"]))  # arrives after later windows
    writer.write(_window(1, ["age", "income"], value=0.9))  # window 1 computed again (re-dispatched)

    assert _extras(backend) == [
        (0, {"drifted_features": ["income"], "note": "window 0", "quoted": "it's a \\ path"}),
        (1, {"drifted_features": ["age", "income"], "note": "window 1", "quoted": "it's a \\ path"}),
        (2, {"drifted_features": [], "note": "window 2", "quoted": "it's a \\ path"}),
    ]
    assert result_history(backend, PROJECT)["value"].tolist() == [0.5, 0.9, 0.5]  # the numbers agree
    assert "extra_data" not in result_history(backend, PROJECT).columns  # only when asked: it reads KV
    window_1 = result_history(backend, PROJECT, since_ms=T0 + 2 * PERIOD, until_ms=T0 + 2 * PERIOD + 1,
                              extra_data=True)
    assert [e["drifted_features"] for e in window_1["extra_data"]] == [["age", "income"]]


def test_history_written_before_extra_data_was_kept_reads_empty(backend):
    old_writer = HistoryWriter(backend.tsdb, PATHS)  # the history writer of before: TSDB only
    old_writer.write(_window(0, ["age"]))
    ResultWriter(backend, PATHS).write(_window(1, ["income"]))

    assert [(k, e.get("drifted_features")) for k, e in _extras(backend)] == [(0, None), (1, ["income"])]
    assert _extras(backend)[0][1] == {}


def test_a_huge_extra_data_is_cut_below_the_v3io_text_attribute_limit(backend):
    features = {f"feature_{i:05d}": {"tvd": i / 20_000, "status": 0} for i in range(20_000)}  # ~700 KB of JSON
    extra = {"features_scored": 20_000, "features": features, "blob": "x" * 100_000}
    result = ModelMonitoringApplicationResult("general_drift", 0.2, ResultKindApp.data_drift, NO, extra)
    ResultWriter(backend, PATHS).write(WriterEvent(PROJECT, "ep1", "drift", T0, T0 + PERIOD, (result,)))

    for table in (PATHS.app_results_extra_table, PATHS.app_results_table):
        (text,) = [item["extra_data"] for _, item in backend.kv.scan(table)[0]]
        assert len(text.encode()) <= MAX_EXTRA_DATA_BYTES < 61_200
    (stored,) = result_history(backend, PROJECT, extra_data=True)["extra_data"]
    assert stored == latest_results(backend, PROJECT)["extra_data"].iloc[0]
    assert stored["features_scored"] == 20_000
    kept = list(stored["features"])
    assert 1_000 < len(kept) < 20_000 and kept == list(features)[: len(kept)]  # the first ones, in order
    assert stored["features"][kept[-1]] == features[kept[-1]]
    assert "blob" not in stored
    assert stored[TRUNCATED] == {"bytes": len(json.dumps(extra)), "limit": MAX_EXTRA_DATA_BYTES,
                                 "keys": ["features", "blob"]}


@pytest.mark.parametrize("extra", [
    {},
    {"a": 1, "b": [1, 2, 3]},
    {"long_key_" * 20_000: 1, "small": 2},
    {"list": list(range(50_000)), "after": "kept if it fits"},
    {"nested": {"deep": {"x": "y" * 100_000}}},
    {f"k{i}": "v" * 50 for i in range(5_000)},
    {"text": "é" * 40_000},  # escaped as \\u00e9: six bytes each
])
def test_bounded_extra_data_always_fits_and_is_unchanged_when_it_does(extra):
    text = bounded_extra_data(extra, limit=20_000)
    assert len(text.encode()) <= 20_000
    decoded = json.loads(text)
    if len(json.dumps(extra)) <= 20_000:
        assert decoded == extra
    else:
        assert decoded[TRUNCATED]["bytes"] == len(json.dumps(extra))
        assert all(decoded[k] == extra[k] for k in decoded if k != TRUNCATED and not isinstance(extra[k], list))


def _metrics(k: int, rows: int, app: str = "rows-app") -> WriterEvent:
    metrics = (ModelMonitoringApplicationMetric("rows", rows), ModelMonitoringApplicationMetric("share", k / 10))
    return WriterEvent(PROJECT, "ep1", app, T0 + k * PERIOD, T0 + (k + 1) * PERIOD, metrics=metrics)


def test_latest_metrics_are_the_latest_windows_and_a_home_of_before_reads_them_from_the_history(backend):
    old_writer = HistoryWriter(backend.tsdb, PATHS)  # a home written before the latest-metrics table
    for k in (0, 1):
        old_writer.write(_metrics(k, 100 + k))
    old = latest_metrics(backend, PROJECT)
    assert old[["metric_name", "start_ms", "value"]].values.tolist() == [["rows", T0 + PERIOD, 101.0],
                                                                         ["share", T0 + PERIOD, 0.1]]
    writer = ResultWriter(backend, PATHS)
    writer.write(_metrics(3, 103))
    writer.write(_metrics(2, 102))  # late: stays in the history only
    writer.write(_metrics(0, 7, app="other-app"))
    latest = latest_metrics(backend, PROJECT)
    assert latest[["app_name", "metric_name", "start_ms", "end_ms", "value"]].values.tolist() == [
        ["other-app", "rows", T0, T0 + PERIOD, 7.0], ["other-app", "share", T0, T0 + PERIOD, 0.0],
        ["rows-app", "rows", T0 + 3 * PERIOD, T0 + 4 * PERIOD, 103.0],
        ["rows-app", "share", T0 + 3 * PERIOD, T0 + 4 * PERIOD, 0.3]]
    assert list(latest.columns) == list(metric_history(backend, PROJECT).columns)
    assert latest_metrics(backend, PROJECT, app_name="other-app", since_ms=T0 + 2 * PERIOD).empty
    assert metric_history(backend, PROJECT, app_name="rows-app")["value"].tolist() == [
        100.0, 0.0, 101.0, 0.1, 102.0, 0.2, 103.0, 0.3]


def test_metrics_stored_without_their_start_take_it_from_a_result_of_the_window(backend):
    backend.tsdb.create_table(PATHS.metrics_tsdb)  # rows as the writer stored them before keeping start_ms
    backend.tsdb.write(PATHS.metrics_tsdb, pd.DataFrame({
        "time": [T0 + PERIOD, T0 + 2 * PERIOD], "endpoint_id": "ep1", "app_name": "drift", "metric_name": "rows",
        "value": [5.0, 6.0], "updated_ms": ["1", "2"],
    }), labels=["endpoint_id", "app_name", "metric_name", "updated_ms"])
    ResultWriter(backend, PATHS).write(_window(1, []))  # a result of window 1 (no metrics)
    history = metric_history(backend, PROJECT)
    assert history["start_ms"].tolist() == [pd.NA, T0 + PERIOD]
    assert history["end_ms"].tolist() == [T0 + PERIOD, T0 + 2 * PERIOD]
