"""``ResultWriter.write_many`` (a page of the writer stream, or Nuclio's batch) leaves exactly the state writing
the same events one by one leaves: latest results and metrics, history, drift status, failures, alerts, and on
V3IO MLRun's tables. Batches mix endpoints, windows arriving late, recomputed windows, failures and their
later success."""

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
from modelmon.queries import app_failures, latest_metrics, latest_results, metric_history, result_history
from modelmon.writer import ResultWriter

PROJECT = "p"
PATHS = ProjectPaths(PROJECT)
PERIOD = 600_000
T0 = 1_700_000_000_000 // PERIOD * PERIOD
NO, POTENTIAL, DETECTED = ResultStatusApp.no_detection, ResultStatusApp.potential_detection, ResultStatusApp.detected


class _Clock:
    def __init__(self) -> None:
        self.now = T0 + 100 * PERIOD

    def __call__(self) -> int:
        return self.now


@pytest.fixture(params=["local", "v3io"])
def opener(request, tmp_path):
    if request.param == "local":
        with contextlib.nullcontext(lambda name: open_local_backend(str(tmp_path / name))) as open_backend:
            yield open_backend
    else:
        with v3io_backend(tmp_path) as open_backend:
            yield lambda name: open_backend()


def _event(endpoint: str, app: str, k: int, statuses: tuple[ResultStatusApp, ...], *, error: str | None = None,
           value: float = 0.1) -> WriterEvent:
    if error:
        return WriterEvent(PROJECT, endpoint, app, T0 + k * PERIOD, T0 + (k + 1) * PERIOD, error=error)
    results = tuple(ModelMonitoringApplicationResult(f"r{i}", value + i, ResultKindApp.data_drift, status,
                                                     {"k": k} if status == DETECTED else {})
                    for i, status in enumerate(statuses))
    metrics = (ModelMonitoringApplicationMetric("rows", 100 * k + value),)
    return WriterEvent(PROJECT, endpoint, app, T0 + k * PERIOD, T0 + (k + 1) * PERIOD, results, metrics,
                       endpoint_name=f"model-{endpoint}")


BATCHES = [
    [_event("ep1", "drift", 1, (NO, POTENTIAL)), _event("ep2", "drift", 1, (DETECTED, NO)),
     _event("ep1", "quality", 1, (DETECTED,)), _event("ep1", "drift", 3, (NO, NO)),
     _event("ep1", "drift", 2, (DETECTED, NO)),  # arrives after a later window: not the latest
     _event("ep2", "drift", 2, (), error="ValueError: boom")],
    [_event("ep2", "drift", 2, (POTENTIAL, NO)),  # the failed window succeeds: its failure item goes
     _event("ep1", "drift", 3, (NO, DETECTED), value=0.5),  # recomputed, then recomputed again in the batch
     _event("ep1", "drift", 3, (POTENTIAL, NO), value=0.7),
     _event("ep3", "drift", 1, (), error="KeyError: 'x'"), _event("ep3", "drift", 1, (NO,)),
     _event("ep3", "drift", 2, (NO,)), _event("ep3", "drift", 2, (), error="RuntimeError: late failure")],
]


def _state(backend) -> dict[str, pd.DataFrame]:
    latest = latest_results(backend, PROJECT).drop(columns="updated_ms")
    endpoints = pd.DataFrame([{"id": key, "drift_status": item.get("drift_status"),
                               "end": item.get("drift_status_end_ms")}
                              for key, item in scan_all(backend.kv, PATHS.endpoints_table)])
    alerts = pd.DataFrame(sorted(item.items()) for _, item in scan_all(backend.kv, PATHS.alerts_table))
    return {"latest": latest, "metrics": latest_metrics(backend, PROJECT),
            "history": result_history(backend, PROJECT, extra_data=True), "metric_history": metric_history(
                backend, PROJECT), "failures": app_failures(backend, PROJECT).drop(columns="time_ms"),
            "endpoints": endpoints.sort_values("id").reset_index(drop=True), "alerts": alerts}


def _write(backend, batched: bool) -> dict[str, pd.DataFrame]:
    for endpoint in ("ep1", "ep2", "ep3"):
        backend.kv.put(PATHS.endpoints_table, endpoint, ModelEndpoint(endpoint, name=f"model-{endpoint}").to_item())
    writer = ResultWriter(backend, PATHS, clock=_Clock())
    for batch in BATCHES:
        if batched:
            writer.write_many(batch)
        else:
            for event in batch:
                writer.write(event)
    return _state(backend)


def test_a_batch_leaves_the_state_of_its_events_written_one_by_one(opener):
    one_by_one, batched = opener("one"), opener("batched")
    try:
        expected, got = _write(one_by_one, batched=False), _write(batched, batched=True)
    finally:
        one_by_one.close()
        batched.close()
    for name in expected:
        pd.testing.assert_frame_equal(got[name], expected[name], obj=name)
    latest = got["latest"].set_index(["endpoint_id", "app_name", "result_name"])
    assert latest.loc[("ep1", "drift", "r0"), ["end_ms", "value"]].tolist() == [T0 + 4 * PERIOD, 0.7]
    assert got["failures"][["endpoint_id", "start_ms"]].values.tolist() == [["ep3", T0 + 2 * PERIOD]]
    assert got["endpoints"]["drift_status"].tolist() == [2, 1, 0]
    assert len(got["alerts"]) == 4  # ep2 w1, ep1 quality w1, ep1 drift w2, and w3 once r1 was detected
