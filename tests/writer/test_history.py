"""Result and metric history under V3IO TSDB's first-write-wins rule, on both backends.

The ``v3io`` runs go through the real ``v3io_frames`` client to ``tests/frames_server``, which drops a
sample at or before its series' latest time as framesd does; the ``local`` backend follows the same
rule. Whatever order windows reach the writer in, and however often one is recomputed, the history
readers give one row per window with its newest computation, as the latest-results KV does.
"""

from __future__ import annotations

import contextlib

import pandas as pd
import pytest
from v3io_server.stack import v3io_backend

from modelmon.backends import scan_all
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
from modelmon.queries import app_failures, metric_history, result_history
from modelmon.writer import ResultWriter

PROJECT = "p"
PATHS = ProjectPaths(PROJECT)
PERIOD = 600_000
T0 = 1_700_000_000_000 // PERIOD * PERIOD
NO, POTENTIAL, DETECTED = ResultStatusApp.no_detection, ResultStatusApp.potential_detection, ResultStatusApp.detected


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


def _window(k: int, value: float, status: ResultStatusApp = NO, *, rows: int = 100,
            error: str | None = None) -> WriterEvent:
    """Window ``k`` of ep1/drift: result ``tvd`` = ``value``, metric ``rows``; or the app's ``error``."""
    results = () if error else (ModelMonitoringApplicationResult("tvd", value, ResultKindApp.data_drift, status),)
    metrics = () if error else (ModelMonitoringApplicationMetric("rows", rows),)
    return WriterEvent(PROJECT, "ep1", "drift", T0 + k * PERIOD, T0 + (k + 1) * PERIOD, results, metrics, error=error)


def _results(backend) -> list[tuple]:
    history = result_history(backend, PROJECT)
    return [(int(r.start_ms - T0) // PERIOD, r.value, r.status) for r in history.itertuples()]


def _metrics(backend) -> list[tuple]:
    history = metric_history(backend, PROJECT)
    return [(int(r.end_ms - T0) // PERIOD - 1, r.value) for r in history.itertuples()]


def test_a_window_written_after_later_ones_is_in_the_history(backend):
    """W1–W3 pushed together; W1's app failed, W1 is re-sent after W3 and succeeds."""
    writer = ResultWriter(backend, PATHS)
    for event in (_window(1, 0, error="BackendUnavailable: framesd restarting"), _window(2, 0.2), _window(3, 0.3)):
        writer.write(event)
    assert _results(backend) == [(2, 0.2, NO), (3, 0.3, NO)]

    writer.write(_window(1, 0.1, rows=50))  # re-sent after W3: before the series' latest time
    assert _results(backend) == [(1, 0.1, NO), (2, 0.2, NO), (3, 0.3, NO)]
    assert _metrics(backend) == [(1, 50.0), (2, 100.0), (3, 100.0)]
    assert app_failures(backend, PROJECT).empty


def test_a_recomputed_window_shows_its_new_value_as_in_kv(backend):
    writer = ResultWriter(backend, PATHS)
    writer.write(_window(1, 0.1))
    writer.write(_window(2, 0.2))
    writer.write(_window(1, 0.7, DETECTED, rows=70))  # W1 recomputed (e.g. after its lease ran out)
    writer.write(_window(2, 0.5, POTENTIAL, rows=80))  # and the latest window too
    assert _results(backend) == [(1, 0.7, DETECTED), (2, 0.5, POTENTIAL)]
    assert _metrics(backend) == [(1, 70.0), (2, 80.0)]
    [(_, latest)] = scan_all(backend.kv, PATHS.app_results_table)
    assert (latest["end_ms"], latest["value"], latest["status"]) == (T0 + 3 * PERIOD, 0.5, POTENTIAL)


def test_a_redelivered_window_changes_nothing_read(backend):
    writer = ResultWriter(backend, PATHS)
    for event in (_window(1, 0.1), _window(2, 0.2), _window(3, 0.3), _window(1, 0.1)):
        writer.write(event)
    first = (result_history(backend, PROJECT), metric_history(backend, PROJECT))
    writer.write(_window(3, 0.3))
    pd.testing.assert_frame_equal(result_history(backend, PROJECT), first[0])
    pd.testing.assert_frame_equal(metric_history(backend, PROJECT), first[1])
    assert len(first[0]) == 3 and len(first[1]) == 3


def test_readers_filter_and_bound_by_window_end(backend):
    writer = ResultWriter(backend, PATHS)
    for k in (3, 1, 2):
        writer.write(_window(k, k / 10))
    writer.write(WriterEvent(PROJECT, "ep2", "drift", T0, T0 + PERIOD,
                             (ModelMonitoringApplicationResult("tvd", 0.9, ResultKindApp.data_drift, NO),),
                             (ModelMonitoringApplicationMetric("rows", 9),)))
    got = result_history(backend, PROJECT, endpoint_id="ep1", since_ms=T0 + 2 * PERIOD, until_ms=T0 + 4 * PERIOD)
    assert got["end_ms"].tolist() == [T0 + 2 * PERIOD, T0 + 3 * PERIOD]
    metrics = metric_history(backend, PROJECT, app_name="drift")
    assert metrics[["endpoint_id", "end_ms"]].values.tolist() == [
        ["ep1", T0 + 2 * PERIOD], ["ep1", T0 + 3 * PERIOD], ["ep1", T0 + 4 * PERIOD], ["ep2", T0 + PERIOD]]
    assert metric_history(backend, PROJECT, app_name="other").empty


def test_history_written_before_the_write_label_counts_as_oldest(backend):
    """Rows of the former layout (no ``updated_ms`` label) are read, and a newer computation wins."""
    old = pd.DataFrame({"time": [T0 + PERIOD, T0 + 2 * PERIOD], "endpoint_id": "ep1", "app_name": "drift",
                        "result_name": "tvd", "value": [0.1, 0.2], "status": 0, "kind": 0,
                        "start_ms": [T0, T0 + PERIOD]})
    backend.tsdb.create_table(PATHS.app_results_tsdb)
    backend.tsdb.write(PATHS.app_results_tsdb, old, ["endpoint_id", "app_name", "result_name"])
    ResultWriter(backend, PATHS).write(_window(0, 0.6, POTENTIAL))  # window 0 = [T0, T0 + PERIOD)
    assert _results(backend) == [(0, 0.6, POTENTIAL), (1, 0.2, NO)]


def test_nothing_written_reads_empty_with_the_columns(backend):
    assert result_history(backend, PROJECT).empty
    assert list(metric_history(backend, PROJECT).columns) == ["endpoint_id", "app_name", "metric_name", "start_ms",
                                                              "end_ms", "value"]
