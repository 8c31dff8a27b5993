"""A home with something behind every metric of ``/metrics``, written the way the functions write it:
tracked requests through the stream function's ingestor, results, metrics and failures through the
writer, apps through the registry, and a service state file held by a live lock.

Times are relative to the wall clock when the home is built; :meth:`PromHome.context` pins the UI's
clock there (``/metrics`` reads the last minutes of traffic and the last day of failures before "now").
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from modelmon.apps.registry import AppRegistry
from modelmon.backends import Backend, make_backend
from modelmon.backends.base import OutRecord
from modelmon.core.config import Settings
from modelmon.core.paths import ProjectPaths
from modelmon.core.results import (
    ModelMonitoringApplicationMetric,
    ModelMonitoringApplicationResult,
    ResultKindApp,
    ResultStatusApp,
)
from modelmon.core.timeutil import now_ms
from modelmon.endpoints.registration import register_model_endpoint
from modelmon.events import WriterEvent
from modelmon.events.tracking import tracking_body
from modelmon.service.layout import HomeLayout
from modelmon.service.lock import ServiceLock
from modelmon.service.state import write_state
from modelmon.stream import Ingestor, RawRecord
from modelmon.ui.context import UIContext
from modelmon.writer import ResultWriter

PROJECT = "shop"
PATHS = ProjectPaths(PROJECT)
DRIFT = "histogram-data-drift"
PERF = "system-performance"
BROKEN = "broken-app"
#: A name that needs every escape of the format: backslash, double quote, newline.
ODD_NAME = 'fraud "v2"\\eu\nwest'
MINUTE = 60_000
CHURN_LATENCIES_US = [1_000, 2_500, 4_000, 12_500]
CHURN_ERRORS = 2
ODD_LATENCIES_US = [7_000, 9_000, 11_000]
WRITER_LAG = 3


@dataclasses.dataclass
class PromHome:
    home: Path
    settings: Settings
    backend: Backend
    now_ms: int
    churn: str  # endpoint ids
    odd: str
    lock: ServiceLock

    @property
    def window_end_ms(self) -> int:
        """End of the newest analysed window of both endpoints."""
        return self.now_ms - 2 * MINUTE

    def context(self, token: str | None = None) -> UIContext:
        """What ``modelmon ui`` serves of this home, its clock pinned at the home's "now"."""
        return UIContext(self.settings, self.backend, PROJECT, token=token, clock=lambda: self.now_ms)

    def close(self) -> None:
        self.lock.release()
        self.backend.close()


def build_home(home: Path) -> PromHome:
    settings = Settings(home=str(home), project=PROJECT)
    backend = make_backend(settings)
    now = now_ms()
    churn = register_model_endpoint(backend, PROJECT, "churn", feature_names=["x"], model_version="3").endpoint_id
    odd = register_model_endpoint(backend, PROJECT, ODD_NAME, feature_names=["x"]).endpoint_id
    ingestor = Ingestor(backend, PROJECT)
    ingestor.setup()
    _track(ingestor, churn, "churn", "3", now - MINUTE, CHURN_LATENCIES_US, errors=CHURN_ERRORS)
    _track(ingestor, odd, ODD_NAME, None, now - 60 * MINUTE, ODD_LATENCIES_US)  # too old for latency_max

    registry = AppRegistry(backend.kv, PATHS)
    registry.register(DRIFT, "modelmon.apps.builtin.histogram_drift:HistogramDataDriftApplication")
    registry.register(PERF, "modelmon.apps.builtin.system_performance:SystemPerformanceApplication")
    registry.set_enabled(PERF, False)
    end = now - 2 * MINUTE
    writer = ResultWriter(backend, PATHS, clock=lambda: now)
    for event in _events(churn, odd, end):
        writer.write(event)
    ResultWriter(backend, PATHS, clock=lambda: now - 3 * 86_400_000).write(  # an old failure
        WriterEvent(PROJECT, odd, BROKEN, end - 20 * MINUTE, end - 10 * MINUTE, error="ValueError: old"))

    lock = ServiceLock(HomeLayout(home).lock)
    assert lock.acquire()
    backend.streams.create(PATHS.writer_stream)
    backend.streams.put_records(PATHS.writer_stream, [OutRecord(b"{}", shard=0)] * WRITER_LAG)
    write_state(home, {"pid": os.getpid(), "home": str(home), "started_ms": now, "updated_ms": now, "projects": {
        PROJECT: {"functions": {
            "model-monitoring-writer": {"role": "writer", "state": "running", "restarts": 2, "pid": os.getpid(),
                                        "streams": [{"path": PATHS.writer_stream, "group": "writer"}]},
            "model-monitoring-controller": {"role": "controller", "state": "failed", "restarts": 5},
        }}}})
    return PromHome(home, settings, backend, now, churn, odd, lock)


def _track(ingestor: Ingestor, endpoint_id: str, model: str, version: str | None, when: int, latencies: list[int],
           errors: int = 0) -> None:
    requests = [{"request": {"id": f"{model}-{i}", "inputs": [[float(i)]]}, "resp": {"outputs": [1]},
                 "when": when + i, "microsec": us} for i, us in enumerate(latencies)]
    requests += [{"request": {"id": f"{model}-e{i}", "inputs": [[0.0]]}, "when": when, "microsec": 0,
                  "error": "ValueError: bad input"} for i in range(errors)]
    body = tracking_body(model=model, function_uri=f"{PROJECT}/serving", version=version, requests=requests,
                         endpoint_id=endpoint_id)
    ingestor.process(RawRecord(body))


def _events(churn: str, odd: str, end: int) -> list[WriterEvent]:
    start = end - 10 * MINUTE
    drift = ResultKindApp.data_drift
    thresholds = {"potential": 0.3, "detected": 0.5}
    return [
        WriterEvent(PROJECT, churn, DRIFT, start - 10 * MINUTE, start, (
            ModelMonitoringApplicationResult("general_drift", 0.1, drift, ResultStatusApp.no_detection,
                                             {"thresholds": thresholds}),)),
        WriterEvent(PROJECT, churn, DRIFT, start, end, (
            ModelMonitoringApplicationResult("general_drift", 0.625, drift, ResultStatusApp.detected, {
                "thresholds": thresholds,
                "features": {"x": {"hellinger": 0.75, "tvd": 0.5, "status": 2}}}),
            ModelMonitoringApplicationResult("drifted_features_share", 1.0, drift, ResultStatusApp.detected, {}),
        ), (ModelMonitoringApplicationMetric("hellinger_mean", 0.75),)),
        WriterEvent(PROJECT, churn, PERF, start, end, (
            ModelMonitoringApplicationResult("latency_p99_us", 12_275.0, ResultKindApp.system_performance,
                                             ResultStatusApp.no_detection, {}),
        ), (ModelMonitoringApplicationMetric("request_count", 4.0),)),
        WriterEvent(PROJECT, odd, DRIFT, start, end, (
            ModelMonitoringApplicationResult("general_drift", 0.05, drift, ResultStatusApp.no_detection,
                                             {"thresholds": thresholds, "features": {"x": 0.05}}),)),
        WriterEvent(PROJECT, churn, BROKEN, start, end, error="KeyError: 'x'", error_type="KeyError"),
    ]
