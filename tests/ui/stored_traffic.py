"""Requests stored as the stream function stores them: sample rows, per-minute predictions and errors."""

from __future__ import annotations

from typing import Any

import pandas as pd

from modelmon.core.paths import ProjectPaths
from modelmon.stream.aggregate import ERROR_LABELS, PREDICTION_LABELS, errors_frame, predictions_frame


def store_requests(backend: Any, paths: ProjectPaths, endpoint_id: str, batch: str, frame: pd.DataFrame,
                   times: Any, latency: Any, errors: Any) -> None:
    """``frame`` (the successful requests) into the sample store, and every request's minute counts."""
    backend.samples.append(endpoint_id, frame, batch_id=batch)
    backend.tsdb.create_table(paths.predictions_tsdb)
    backend.tsdb.create_table(paths.errors_tsdb)
    backend.tsdb.write(paths.predictions_tsdb, predictions_frame(endpoint_id, batch, times, latency, errors),
                       labels=list(PREDICTION_LABELS))
    backend.tsdb.write(paths.errors_tsdb, errors_frame(endpoint_id, batch, times, errors), labels=list(ERROR_LABELS))
