"""Per-record aggregates of one endpoint's requests, computed with numpy/pandas in one pass.

TSDB idempotency: rows are keyed by (time, endpoint_id, batch_id), ``batch_id`` naming the stream
record they came from. A record delivered again rewrites exactly its own rows; a minute that spans
several records has one row per record, summed at read time (:func:`read_predictions`). A
read-modify-write of one row per minute would double-count under redelivery.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from modelmon.backends import TSDB
from modelmon.core.arrays import BoolArray, FloatArray, IntArray

MINUTE_MS = 60_000
PREDICTION_LABELS = ("endpoint_id", "batch_id")
ERROR_LABELS = ("endpoint_id", "batch_id")
#: The predictions column of the per-minute rows (MLRun 1.8+'s name) and the name it had before.
ESTIMATED = "estimated_prediction_count"
LEGACY_ESTIMATED = "estimated_count"


@dataclasses.dataclass(frozen=True)
class Totals:
    """What one record adds to its endpoint's record."""

    requests: int  # successful tracked requests
    errors: int  # error events
    latency_sum_us: float  # over successful requests with a known latency
    first_ms: int  # earliest event time of the record (requests and errors)
    last_ms: int  # latest event time
    #: the predictions the successful requests stand for (``modelmon.stream.sampling``); None: ``requests``
    estimated: float | None = None


def totals(when_ms: FloatArray | IntArray, latency_us: FloatArray, is_error: BoolArray,
           estimated: FloatArray | None = None) -> Totals:
    """Counts, latency sum and time range of one record's requests (``estimated``: predictions per request).

    >>> totals(np.array([5.0, 9.0, 7.0]), np.array([10.0, np.nan, 30.0]), np.array([False, True, False]))
    Totals(requests=2, errors=1, latency_sum_us=40.0, first_ms=5, last_ms=9, estimated=None)
    """
    ok = ~is_error
    return Totals(
        requests=int(ok.sum()),
        errors=int(is_error.sum()),
        latency_sum_us=float(np.nansum(latency_us[ok])),
        first_ms=int(when_ms.min()),
        last_ms=int(when_ms.max()),
        estimated=None if estimated is None else float(estimated[ok].sum()),
    )


def predictions_frame(endpoint_id: str, batch_id: str, when_ms: FloatArray | IntArray, latency_us: FloatArray,
                      is_error: BoolArray, estimated: FloatArray | None = None) -> pd.DataFrame:
    """One row per minute of this record: ``count`` (tracked requests), ``estimated_prediction_count`` (the
    predictions they stand for, :mod:`modelmon.stream.sampling`; ``count`` without ``estimated``: MLRun 1.8+'s
    column, which its applications dashboard sums), ``latency_sum_us``, ``latency_max_us``."""
    ok = ~is_error
    minutes = (when_ms[ok] // MINUTE_MS * MINUTE_MS).astype(np.int64)
    latency = latency_us[ok]
    weights = np.ones(len(minutes)) if estimated is None else estimated[ok].astype(np.float64)
    if not (minutes[1:] >= minutes[:-1]).all():  # producers send requests in time order: mostly no sort
        order = np.argsort(minutes, kind="stable")
        minutes, latency, weights = minutes[order], latency[order], weights[order]
    latency = np.nan_to_num(latency)
    starts = np.flatnonzero(np.concatenate(([True], minutes[1:] != minutes[:-1])))  # np.r_ costs 10x more
    # every column an array and no copy: pandas broadcasting the two labels and copying each column cost
    # more than the arithmetic, for the minute or two a record spans
    return pd.DataFrame({
        "time": minutes[starts],
        "endpoint_id": np.full(len(starts), endpoint_id, dtype=object),
        "batch_id": np.full(len(starts), batch_id, dtype=object),
        "count": np.diff(np.append(starts, len(minutes))).astype(np.int64),
        ESTIMATED: np.add.reduceat(weights, starts),
        "latency_sum_us": np.add.reduceat(latency, starts),
        "latency_max_us": np.maximum.reduceat(latency, starts),
    }, copy=False)


def errors_frame(endpoint_id: str, batch_id: str, when_ms: FloatArray | IntArray, is_error: BoolArray) -> pd.DataFrame:
    """One row per distinct error time of this record, with the number of errors at that time."""
    times, counts = np.unique(when_ms[is_error].astype(np.int64), return_counts=True)
    return pd.DataFrame({"time": times, "endpoint_id": endpoint_id, "batch_id": batch_id,
                         "count": counts.astype(np.int64)})


def estimated_counts(rows: pd.DataFrame) -> pd.Series:
    """Each stored row's predictions: ``estimated_prediction_count``, else the column's name before MLRun's
    (``estimated_count``), else (rows from before either) ``count``."""
    estimated = pd.Series(np.nan, index=rows.index)
    for column in (ESTIMATED, LEGACY_ESTIMATED):
        if column in rows:
            estimated = estimated.fillna(rows[column])
    return estimated.fillna(rows["count"]).astype(np.float64)


def read_predictions(tsdb: TSDB, table: str, endpoint_id: str, start: int, end: int) -> pd.DataFrame:
    """Per-minute ``count``, ``estimated_count``, ``latency_sum_us``, ``latency_max_us`` of one endpoint
    (records summed; rows written before the estimate existed estimate their ``count``)."""
    rows = tsdb.read(table, start, end, filters={"endpoint_id": endpoint_id})  # every column: older tables lack one
    if rows.empty:
        return pd.DataFrame({"time": [], "count": [], "estimated_count": [], "latency_sum_us": [],
                             "latency_max_us": []})
    rows = rows.assign(estimated_count=estimated_counts(rows))
    return (rows.groupby("time", sort=True)
            .agg(count=("count", "sum"), estimated_count=("estimated_count", "sum"),
                 latency_sum_us=("latency_sum_us", "sum"), latency_max_us=("latency_max_us", "max"))
            .reset_index())
