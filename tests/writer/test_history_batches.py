"""History written a batch of events at a time reads as if each event were written alone; a result without
``extra_data`` adds no KV item but still replaces an older computation's. On both backends."""

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
from modelmon.events import WriterEvent
from modelmon.queries import metric_history, result_history
from modelmon.writer.history import HistoryWriter

PROJECT = "p"
PATHS = ProjectPaths(PROJECT)
PERIOD = 600_000
T0 = 1_700_000_000_000 // PERIOD * PERIOD


@pytest.fixture(params=["local", "v3io"])
def opener(request, tmp_path):
    if request.param == "local":
        with contextlib.nullcontext(lambda name: open_local_backend(str(tmp_path / name))) as open_backend:
            yield open_backend
    else:
        with v3io_backend(tmp_path) as open_backend:
            yield lambda name: open_backend()


def _event(endpoint: str, k: int, value: float, extra: dict | None = None, metrics: int = 1) -> WriterEvent:
    results = tuple(ModelMonitoringApplicationResult(
        f"r{i}", value + i, ResultKindApp.data_drift,
        ResultStatusApp.detected if i == 0 else ResultStatusApp.no_detection,
        (extra or {}) if i == 0 else {}) for i in range(3))
    return WriterEvent(PROJECT, endpoint, "drift", T0 + k * PERIOD, T0 + (k + 1) * PERIOD, results,
                       tuple(ModelMonitoringApplicationMetric(f"m{i}", value * 10 + i) for i in range(metrics)))


def _read(backend) -> tuple[pd.DataFrame, pd.DataFrame]:
    return result_history(backend, PROJECT, extra_data=True), metric_history(backend, PROJECT)


EVENTS = [_event("ep1", 1, 0.1, {"drifted": ["a"]}), _event("ep2", 1, 0.2, metrics=0), _event("ep1", 2, 0.3),
          _event("ep1", 1, 0.4, {"drifted": ["b"]}),  # window 1 of ep1 recomputed within the same batch
          WriterEvent(PROJECT, "ep3", "drift", T0, T0 + PERIOD)]  # nothing to write


def test_a_batch_reads_as_its_events_written_one_by_one(opener):
    one_by_one, batched = opener("one"), opener("batched")
    try:
        writer = HistoryWriter(one_by_one.tsdb, PATHS, kv=one_by_one.kv)
        for event in EVENTS:
            writer.write(event)
        HistoryWriter(batched.tsdb, PATHS, kv=batched.kv).write_many(EVENTS)
        for got, expected in zip(_read(batched), _read(one_by_one), strict=True):
            pd.testing.assert_frame_equal(got, expected)
        results, metrics = _read(batched)
        assert len(results) == 9 and len(metrics) == 2  # ep1 windows 1 and 2, ep2 window 1; ep2 has no metrics
        ep1 = results[(results["endpoint_id"] == "ep1") & (results["result_name"] == "r0")]
        assert ep1["value"].tolist() == [0.4, 0.3] and ep1["extra_data"].tolist() == [{"drifted": ["b"]}, {}]
    finally:
        one_by_one.close()
        batched.close()


def test_an_empty_extra_data_adds_no_item_but_replaces_an_older_one(opener):
    backend = opener("home")
    try:
        writer = HistoryWriter(backend.tsdb, PATHS, kv=backend.kv)
        writer.write(_event("ep1", 1, 0.1))
        assert [key for key, _ in scan_all(backend.kv, PATHS.app_results_extra_table)] == []
        writer.write(_event("ep1", 2, 0.1, {"drifted": ["a"]}))
        writer.write(_event("ep1", 2, 0.2))  # recomputed: no extra data any more
        results, _ = _read(backend)
        assert results["extra_data"].tolist() == [{}] * 6
        assert results[results["result_name"] == "r0"]["value"].tolist() == [0.1, 0.2]
    finally:
        backend.close()
