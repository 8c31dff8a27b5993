"""Drift analysis of a recorded batch: its windows go through the app runner and the writer, as the controller's.

The batch's rows are already in the sample store and counted (watermark moved) when this runs. Each window
of ``period`` minutes (aligned to the epoch, as :mod:`modelmon.controller.windows` cuts them) that holds
rows of the batch and is closed by the endpoint's watermark is analysed by ``histogram-data-drift``
(:meth:`AppRunner.analyse`, the app function's own code) and stored by :meth:`ResultWriter.write`, the
writer function's own code: latest results, history, the endpoint's drift status, alerts, or a failure
record. So ``modelmon results`` and ``project.get_results()`` show the batch's windows like any other.
Windows not closed yet (a batch into a live endpoint without ``base_period_minutes``) are left to the
controller and listed as pending. The app's registered kwargs and period are used when the project
registered it; its defaults otherwise.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from modelmon.apps.builtin import HistogramDataDriftApplication
from modelmon.apps.registry import AppRegistry
from modelmon.apps.runner.loader import load_app
from modelmon.apps.runner.runner import AppRunner
from modelmon.backends.base import Backend
from modelmon.core.arrays import IntArray
from modelmon.core.errors import NotFound
from modelmon.core.paths import ProjectPaths
from modelmon.core.results import ResultKindApp, ResultStatusApp
from modelmon.core.timeutil import iso
from modelmon.endpoints.record import ModelEndpoint
from modelmon.events import WindowEvent, WriterEvent
from modelmon.writer.writer import ResultWriter

DRIFT_APP = HistogramDataDriftApplication.NAME


@dataclasses.dataclass(frozen=True)
class BatchDrift:
    """What the drift analysis of one batch stored: one writer event per analysed window."""

    app_name: str
    period_ms: int
    events: tuple[WriterEvent, ...]
    pending: tuple[tuple[int, int], ...] = ()  # windows with batch rows, not closed yet: left to the controller

    def results(self) -> pd.DataFrame:
        """One row per window and result or metric: times, name, value, status (name and number), kind."""
        rows: list[dict[str, Any]] = []
        for event in self.events:
            window = {"start_ms": event.start_ms, "end_ms": event.end_ms, "app_name": event.app_name}
            rows.extend(window | {"name": r.name, "type": "result", "value": r.value, "status": int(r.status),
                                  "status_name": ResultStatusApp(r.status).name, "kind": ResultKindApp(r.kind).name,
                                  "extra_data": r.extra_data, "error": None} for r in event.results)
            rows.extend(window | {"name": m.name, "type": "metric", "value": m.value, "status": None,
                                  "status_name": None, "kind": None, "extra_data": None, "error": None}
                        for m in event.metrics)
            if event.error is not None:
                rows.append(window | {"name": None, "type": "failure", "value": None, "status": None,
                                      "status_name": None, "kind": None, "extra_data": None, "error": event.error})
        return pd.DataFrame(rows, columns=["start_ms", "end_ms", "app_name", "name", "type", "value", "status",
                                           "status_name", "kind", "extra_data", "error"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every window with its results (status names, the number as ``status_code``) and metrics."""
        return {
            "app_name": self.app_name,
            "period_minutes": self.period_ms // 60_000,
            "windows": [_window_dict(e) for e in self.events],
            "pending_windows": [{"start_ms": s, "end_ms": e, "start": iso(s), "end": iso(e)} for s, e in self.pending],
        }


def _window_dict(event: WriterEvent) -> dict[str, Any]:
    out: dict[str, Any] = {"start_ms": event.start_ms, "end_ms": event.end_ms, "start": iso(event.start_ms),
                           "end": iso(event.end_ms)}
    out["results"] = [{"name": r.name, "value": r.value, "status": ResultStatusApp(r.status).name,
                       "status_code": int(r.status), "kind": ResultKindApp(r.kind).name, "extra_data": r.extra_data}
                      for r in event.results]
    out["metrics"] = [{"name": m.name, "value": m.value} for m in event.metrics]
    if event.error is not None:
        out["error"] = event.error
    return out


def batch_windows(times: IntArray, period_ms: int, watermark_ms: int) -> tuple[list[int], list[tuple[int, int]]]:
    """Starts of the windows holding ``times`` that the watermark closed, and the ones it did not.

    >>> batch_windows(np.array([5, 12, 14, 31]), 10, 40)
    ([0, 10, 30], [])
    >>> batch_windows(np.array([5, 31]), 10, 32)
    ([0], [(30, 40)])
    """
    starts = [int(s) for s in np.unique(times // period_ms * period_ms)]  # floor_to, on every row at once
    closed = [s for s in starts if s + period_ms <= watermark_ms]
    return closed, [(s, s + period_ms) for s in starts if s + period_ms > watermark_ms]


def analyse_batch(backend: Backend, endpoint: ModelEndpoint, times: IntArray, period_minutes: int) -> BatchDrift:
    """Run ``histogram-data-drift`` on the closed windows holding ``times`` and store what it found."""
    paths = ProjectPaths(endpoint.project)
    app, period_minutes = _drift_app(backend, paths, period_minutes)
    period_ms = period_minutes * 60_000
    closed, pending = batch_windows(times, period_ms, endpoint.watermark_ms or 0)
    runner = AppRunner(app, DRIFT_APP, backend, paths)
    writer = ResultWriter(backend, paths)
    events = []
    for start in closed:
        window = WindowEvent(endpoint.project, endpoint.endpoint_id, DRIFT_APP, start, start + period_ms,
                             endpoint_name=endpoint.name)
        event = runner.analyse(window)
        writer.write(event)
        events.append(event)
    return BatchDrift(DRIFT_APP, period_ms, tuple(events), tuple(pending))


def _drift_app(backend: Backend, paths: ProjectPaths, period_minutes: int) -> tuple[Any, int]:
    """The project's registered ``histogram-data-drift`` (its kwargs and period), else the default one."""
    try:
        registered = AppRegistry(backend.kv, paths).get(DRIFT_APP)
    except NotFound:
        return HistogramDataDriftApplication(), period_minutes
    return load_app(registered.class_path, registered.kwargs), registered.base_period_minutes or period_minutes


def feature_table(drift: BatchDrift) -> pd.DataFrame:
    """One row per analysed window and feature shown in its results: distances, score, threshold, drifted."""
    rows: list[dict[str, Any]] = []
    for event in drift.events:
        by_name = {r.name: r.extra_data for r in event.results}
        general, share = by_name.get("general_drift", {}), by_name.get("drifted_features_share", {})
        drifted = set(share.get("drifted_features", []))
        for feature, values in (general.get("features") or {}).items():
            rows.append({"start_ms": event.start_ms, "end_ms": event.end_ms, "feature": feature}
                        | {k: v for k, v in values.items() if k != "status"}
                        | {"score": share.get("feature_scores", {}).get(feature),
                           "threshold": share.get("feature_thresholds", {}).get(feature),
                           "drifted": feature in drifted})
    return pd.DataFrame(rows)
