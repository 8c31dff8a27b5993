"""Controller → app stream → app runtime → writer stream → writer, in one process on the local backend.

The real built-in histogram-drift app analyses three windows of one endpoint; the last is shifted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelmon.apps.builtin import HistogramDataDriftApplication
from modelmon.apps.registry import AppRegistry
from modelmon.apps.runner import AppRunner
from modelmon.backends import make_backend, scan_all
from modelmon.controller import Controller
from modelmon.core.paths import ProjectPaths
from modelmon.core.results import ResultStatusApp
from modelmon.endpoints.record import ModelEndpoint
from modelmon.stats import feature_stats
from modelmon.testing import stream_records
from modelmon.writer import ResultWriter

PERIOD = 600_000
T0 = 1_700_000_000_000 // PERIOD * PERIOD
APP = "histogram-data-drift"


def _drain(backend, path: str) -> list[bytes]:
    return [r.data for r in stream_records(backend.streams, path)]


def test_shifted_window_is_detected_end_to_end(settings):
    backend = make_backend(settings)
    paths = ProjectPaths(settings.project)
    rng = np.random.default_rng(3)
    features = ["f0", "f1", "f2"]
    reference = pd.DataFrame(rng.normal(size=(2000, 3)), columns=features)
    n = 400
    windows = []
    for k, shift in enumerate((0.0, 0.0, 4.0)):
        frame = pd.DataFrame(rng.normal(size=(n, 3)) + shift, columns=features)
        frame["timestamp"] = T0 + k * PERIOD + np.arange(n) * 1000
        frame["p0"] = 0
        windows.append(frame)
    samples = pd.concat(windows, ignore_index=True)
    backend.samples.append("ep1", samples, batch_id="b1")
    backend.kv.put(paths.endpoints_table, "ep1", ModelEndpoint(
        "ep1", name="model-1", feature_names=features, feature_stats=feature_stats(reference),
        first_request_ms=T0, last_request_ms=T0 + 3 * PERIOD - 1000, watermark_ms=T0 + 3 * PERIOD,
    ).to_item())
    backend.tsdb.create_table(paths.predictions_tsdb)
    minutes = samples["timestamp"] // 60_000 * 60_000
    counts = minutes.value_counts().sort_index()
    backend.tsdb.write(paths.predictions_tsdb, pd.DataFrame({
        "time": counts.index.astype("int64"), "endpoint_id": "ep1", "count": counts.to_numpy(),
        "latency_sum_us": 0.0, "latency_max_us": 0.0}), labels=["endpoint_id"])
    AppRegistry(backend.kv, paths).register(APP, "modelmon.apps:HistogramDataDriftApplication")

    report = Controller(backend, paths, clock=lambda: T0 + 3 * PERIOD + 1000).run()
    assert report.windows_dispatched == 3

    runner = AppRunner(HistogramDataDriftApplication(), APP, backend, paths)
    for body in _drain(backend, paths.app_stream(APP)):
        assert runner.handle(body).error is None
    writer = ResultWriter(backend, paths)
    for body in _drain(backend, paths.writer_stream):
        writer.handle(body)

    history = backend.tsdb.read(paths.app_results_tsdb, 0, 2**62, filters={"result_name": "general_drift"})
    assert history["time"].tolist() == [T0 + PERIOD, T0 + 2 * PERIOD, T0 + 3 * PERIOD]
    assert history["status"].tolist() == [ResultStatusApp.no_detection] * 2 + [ResultStatusApp.detected]
    latest = dict(scan_all(backend.kv, paths.app_results_table))
    assert latest[f"ep1.{APP}.general_drift"]["end_ms"] == T0 + 3 * PERIOD
    endpoint = backend.kv.get(paths.endpoints_table, "ep1")
    assert endpoint["drift_status"] == ResultStatusApp.detected
    assert endpoint["drift_status_end_ms"] == T0 + 3 * PERIOD
    backend.close()
