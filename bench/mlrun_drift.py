"""MLRun's own ``HistogramDataDriftApplication`` on the files ``bench_drift`` writes, run by the interpreter of a
separate venv with mlrun installed (``pip install mlrun==1.12.1``).

Usage: ``<venv>/bin/python bench/mlrun_drift.py DIR REPEAT``. ``DIR`` holds ``feature_stats.json`` (the
reference statistics, MLRun's format) and ``window.parquet``. The statistics are padded with MLRun's
``pad_features_hist``, as MLRun's service pads an endpoint's ``feature_stats``, and each run builds MLRun's
``MonitoringApplicationContext`` for the window (as its deployed app does, ``_from_graph_ctx``) and calls the
app's ``do_tracking``: the window's statistics (``calculate_inputs_statistics``: pandas ``describe`` and a
histogram per feature over the reference's bins), the three distances per feature into a DataFrame, their
means, the general result and the two stats outputs. Only ``do_tracking`` is timed, and its context is built
beforehand (in MLRun's favour: its constructor resolves the artifact store), logging at ``WARNING`` (MLRun
logs one ``INFO`` line per feature, not counted). Prints JSON: the median seconds of ``REPEAT`` runs after one
untimed run, and the app's metric and result values. Imports nothing from modelmon.
"""

from __future__ import annotations

import io
import json
import statistics
import sys
import time
import warnings
from typing import Any

import pandas as pd


def main(directory: str, repeat: int) -> dict[str, Any]:
    warnings.filterwarnings("ignore")
    import mlrun
    from mlrun.common.model_monitoring.helpers import pad_features_hist
    from mlrun.model_monitoring.applications.context import MonitoringApplicationContext
    from mlrun.model_monitoring.applications.histogram_data_drift import HistogramDataDriftApplication

    with open(f"{directory}/feature_stats.json") as file:
        feature_stats = json.load(file)
    pad_features_hist(feature_stats)
    window = pd.read_parquet(f"{directory}/window.parquet")
    project = mlrun.projects.MlrunProject.from_dict({"metadata": {"name": "bench"}})
    event = {"start_infer_time": "2026-01-01 00:00:00", "end_infer_time": "2026-01-01 00:10:00",
             "endpoint_id": "ep", "endpoint_name": "ep"}
    logger = mlrun.utils.create_logger(level="WARNING", name="monitoring-application", stream=io.StringIO())
    app = HistogramDataDriftApplication()

    def context() -> Any:
        return MonitoringApplicationContext(
            application_name=app.NAME, event=event, project=project, artifacts_logger=project, logger=logger,
            nuclio_logger=logger, sample_df=window, feature_stats=feature_stats)

    outputs = app.do_tracking(context())  # first use: imports, caches
    seconds = []
    for _ in range(repeat):
        ctx = context()
        start = time.perf_counter()
        outputs = app.do_tracking(ctx)
        seconds.append(time.perf_counter() - start)
    values = {o.name: float(o.value) for o in outputs if hasattr(o, "value")}
    return {"version": mlrun.__version__, "seconds": statistics.median(seconds), "values": values}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]))))
