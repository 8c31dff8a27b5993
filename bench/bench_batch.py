"""Batch inference: rows recorded per second into the local backend.

A 1,000,000-row dataset (10 float features) is predicted by a trivial vectorised model, so the time is
modelmon's: validation, sample-store parquet, per-minute prediction counts, the predictions dataset and
the endpoint update. The first run also creates the job's endpoint with the dataset as reference
(feature_stats over 1M rows); the second records into the existing endpoint. Baseline in the same run:
the same kind of rows sent the streaming way (tracking records of 1,000 requests, each ingested by the
stream function's Ingestor). Target (issue 5): ≥ 200,000 rows/s recorded.
"""

from __future__ import annotations

import shutil
import tempfile
import time

import numpy as np
import pandas as pd

from modelmon.backends.local import open_local_backend
from modelmon.batch.inference import batch_infer
from modelmon.events import tracking_body
from modelmon.stream import Ingestor, RawRecord

ROWS = 1_000_000
FEATURES = [f"x{i}" for i in range(10)]
BASELINE_ROWS, PER_RECORD = 50_000, 1_000
TARGET = 200_000
T0 = 1_704_067_200_000


def _dataset(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(rows, len(FEATURES))), columns=FEATURES)
    frame["ts"] = T0 + np.arange(rows) * 10  # 10 ms apart: ~2.8 hours
    return frame


def _model(features: pd.DataFrame) -> np.ndarray:
    return (features["x0"].to_numpy() > 0).astype(np.int64)


def _batch(home: str, frame: pd.DataFrame) -> tuple[float, float]:
    backend = open_local_backend(home)
    try:
        timings = []
        for run in range(2):
            start = time.perf_counter()
            # the first run makes the dataset the new endpoint's reference (an explicit choice since issue 12)
            result = batch_infer(backend, "bench", frame, _model, feature_columns=FEATURES, timestamp_column="ts",
                                 job_name="bench-job", self_reference=run == 0)
            timings.append(time.perf_counter() - start)
            assert result.rows == len(frame)
    finally:
        backend.close()
    return len(frame) / timings[0], len(frame) / timings[1]


def _streaming(home: str, frame: pd.DataFrame) -> float:
    backend = open_local_backend(home)
    ingestor = Ingestor(backend, "bench")
    ingestor.setup()
    values = frame[FEATURES].to_numpy().tolist()
    bodies = []
    for at in range(0, len(values), PER_RECORD):
        requests = [{"request": {"id": f"r{i}", "inputs": [values[i]]}, "resp": {"outputs": [1]},
                     "when": int(frame["ts"].iat[i]), "microsec": 50} for i in range(at, at + PER_RECORD)]
        bodies.append(RawRecord(tracking_body(model="bench", function_uri="bench/serving", requests=requests)))
    start = time.perf_counter()
    for body in bodies:
        ingestor.process(body)
    elapsed = time.perf_counter() - start
    backend.close()
    return len(values) / elapsed


def main() -> dict:
    home = tempfile.mkdtemp(prefix="modelmon-bench-batch-")
    try:
        frame = _dataset(ROWS)
        first, second = _batch(home + "/batch", frame)
        baseline = _streaming(home + "/stream", _dataset(BASELINE_ROWS))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    figures = {
        "rows": ROWS, "features": len(FEATURES),
        "first_run_rows_per_s": round(first), "second_run_rows_per_s": round(second),
        "streaming_baseline_rows_per_s": round(baseline), "baseline_rows_per_record": PER_RECORD,
        "speedup_vs_streaming": round(second / baseline, 1), "target_rows_per_s": TARGET,
        "meets_target": min(first, second) >= TARGET,
    }
    print(f"batch inference, {ROWS:,} rows x {len(FEATURES)} features (local backend):")
    print(f"  first run (creates the endpoint, reference stats): {first:12,.0f} rows/s")
    print(f"  second run (existing endpoint):                    {second:12,.0f} rows/s")
    print(f"  baseline, streaming ingestion ({PER_RECORD} req/record):  {baseline:12,.0f} rows/s")
    print(f"  target >= {TARGET:,} rows/s: {'met' if figures['meets_target'] else 'NOT met'}")
    return figures


if __name__ == "__main__":
    main()
