"""A V3IO project written before modelmon's tables left MLRun's paths: ``move_old_layout`` brings its latest
results and metric history to the current tables, where the readers find them beside what the new writer
stored; running it again changes nothing."""

from __future__ import annotations

import pandas as pd
from v3io_server.stack import open_on, running_servers

from modelmon import queries
from modelmon.core.paths import ProjectPaths
from modelmon.core.results import (
    ModelMonitoringApplicationMetric,
    ModelMonitoringApplicationResult,
    ResultKindApp,
    ResultStatusApp,
)
from modelmon.events import WriterEvent
from modelmon.writer import ResultWriter
from modelmon.writer.old_layout import Moved, move_old_layout

PROJECT = "legacy"
PATHS = ProjectPaths(PROJECT)
OLD_RESULTS = f"users/pipelines/{PROJECT}/monitoring-apps/app-results"
T0 = 1_764_516_000_000
PERIOD = 600_000


def _old_item(result: str, value: float, window: int) -> dict:
    start = T0 + window * PERIOD
    return {"endpoint_id": "ep1", "app_name": "drift", "result_name": result, "value": value, "status": 0,
            "kind": 0, "extra_data": "{}", "start_ms": start, "end_ms": start + PERIOD, "updated_ms": T0}


def test_old_results_and_metrics_move_beside_the_new_ones():
    with running_servers() as (web, frames):
        _, backend = open_on(web, frames, PROJECT)
        # what the old writer stored: two latest results, and two windows of metric history
        backend.kv.put(OLD_RESULTS, "ep1.drift.general_drift", _old_item("general_drift", 0.2, 0))
        backend.kv.put(OLD_RESULTS, "ep1.drift.psi", _old_item("psi", 0.05, 0))
        backend.tsdb.create_table(PATHS.mlrun_metrics_tsdb)
        backend.tsdb.write(PATHS.mlrun_metrics_tsdb, pd.DataFrame({
            "time": [T0 + PERIOD, T0 + 2 * PERIOD], "endpoint_id": "ep1", "app_name": "drift",
            "metric_name": "tvd_mean", "updated_ms": ["1", "2"], "value": [0.1, 0.3],
            "start_ms": [T0, T0 + PERIOD]}), ["endpoint_id", "app_name", "metric_name", "updated_ms"])
        # the new writer stores window 2 of general_drift and its metric
        start = T0 + 2 * PERIOD
        result = ModelMonitoringApplicationResult("general_drift", 0.7, ResultKindApp.data_drift,
                                                  ResultStatusApp.detected, {})
        ResultWriter(backend, PATHS, clock=lambda: T0 + 10 * PERIOD).write(WriterEvent(
            PROJECT, "ep1", "drift", start, start + PERIOD, (result,),
            (ModelMonitoringApplicationMetric("tvd_mean", 0.35),)))

        assert move_old_layout(backend, PATHS) == Moved(results=1, deleted=2, metric_rows=2)
        latest = queries.latest_results(backend, PROJECT).set_index("result_name")
        assert latest.loc["general_drift", "value"] == 0.7 and latest.loc["psi", "value"] == 0.05
        history = queries.metric_history(backend, PROJECT)
        assert history[["end_ms", "value"]].values.tolist() == [[T0 + PERIOD, 0.1], [T0 + 2 * PERIOD, 0.3],
                                                                 [T0 + 3 * PERIOD, 0.35]]
        assert move_old_layout(backend, PATHS) == Moved(results=0, deleted=0, metric_rows=2)
        assert len(queries.metric_history(backend, PROJECT)) == 3
        backend.close()
