"""MLRun's live figures of an endpoint (its Grafana dashboards chart them) from the per-minute prediction rows.

MLRun's stream graph keeps, per endpoint, the predictions and the average latency of the last 5 minutes and
the last hour, plus ``predictions_per_second = predictions_count_5m / 300``; it stores them in the endpoint
item (``metrics`` = ``{"generic": {...}}`` JSON) and as ``base_metrics`` rows of the ``events`` TSDB (labels
``endpoint_id``, ``record_type``, ``endpoint_type``), beside ``endpoint_features`` rows: one in ten events'
feature and prediction values.

Here the figures are computed once per stream record, as of the record's last event time ``t``, over whole
minutes: the 5-minute window is the minute of ``t`` and the 4 before it, the hour that minute and the 59
before it (MLRun's storey windows are 5-minute buckets; this per-minute window is the same definition at a
finer grain). Counts are predictions (rows, estimated for sampled traffic: the ``estimated_prediction_count``
of the per-minute rows); latency averages are over tracked requests (``latency_sum_us / count``), in microseconds
as MLRun's. The minutes come from the rows :mod:`modelmon.stream.aggregate` already writes: a process keeps
the last hour of each endpoint's minutes, read from the predictions TSDB the first time it sees the endpoint,
and adds each record's rows once (by ``batch_id``, so a redelivered record adds nothing). Producers key
tracking records by endpoint, so one process sees all of an endpoint's records.

A model server's own ``metrics`` (MLRun's serving events carry the server's ``metrics`` dict, set with
``set_metric``) become ``custom_metrics`` rows: one per stream record, the values the last request carrying
any had, at its time (MLRun wrote them per sampled event; the dict is the server's current state, so the
record's last one stands for the record), numbers only, names as TSDB columns.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from modelmon.backends import TSDB
from modelmon.core.arrays import FloatArray
from modelmon.stream.aggregate import ESTIMATED, MINUTE_MS, estimated_counts

EVENTS_LABELS = ("endpoint_id", "record_type", "endpoint_type")
#: MLRun's ``EndpointType.NODE_EP`` (an endpoint that is no router): every modelmon endpoint.
NODE_ENDPOINT = 1
BASE_METRICS = "base_metrics"
ENDPOINT_FEATURES = "endpoint_features"
CUSTOM_METRICS = "custom_metrics"
FIGURES = ("predictions_per_second", "predictions_count_5m", "predictions_count_1h", "latency_avg_5m",
           "latency_avg_1h")
#: One row in this many becomes an ``endpoint_features`` row (MLRun's ``SampleWindow`` of 10 events).
FEATURE_SAMPLE = 10
_HOUR_MINUTES = 60
_NOT_IN_TSDB = re.compile(r"[^a-zA-Z0-9_:]")


def figures(minutes: pd.DataFrame, at_ms: int) -> dict[str, float]:
    """MLRun's five figures as of ``at_ms`` from per-minute ``time``, ``estimated_count``, ``count``,
    ``latency_sum_us`` rows (only minutes up to ``at_ms``'s count).

    >>> rows = pd.DataFrame({"time": [0, 60_000, 600_000], "estimated_count": [3.0, 6.0, 30.0],
    ...                      "count": [3, 6, 30], "latency_sum_us": [30.0, 120.0, 30.0]})
    >>> figures(rows, 300_000)["predictions_count_5m"], figures(rows, 300_000)["latency_avg_5m"]
    (6.0, 20.0)
    >>> figures(rows, 600_001)["predictions_count_1h"], figures(rows, 600_001)["predictions_per_second"]
    (39.0, 0.1)
    """
    values = minutes[["estimated_count", "count", "latency_sum_us"]].to_numpy(dtype=np.float64)
    return _figures(minutes["time"].to_numpy(dtype=np.int64), values, at_ms)


def _figures(times: npt.NDArray[np.int64], values: FloatArray, at_ms: int) -> dict[str, float]:
    """:func:`figures` on arrays: minute start times, and per minute ``[estimated, count, latency_sum_us]``
    (the stream function's per-record path: no frame to build)."""
    minute = at_ms // MINUTE_MS * MINUTE_MS
    out: dict[str, float] = {}
    for suffix, width in (("5m", 5), ("1h", _HOUR_MINUTES)):
        estimated, requests, latency = values[(times <= minute) & (times > minute - width * MINUTE_MS)].sum(axis=0)
        out[f"predictions_count_{suffix}"] = float(estimated)
        out[f"latency_avg_{suffix}"] = float(latency / requests) if requests else 0.0
    out["predictions_per_second"] = out["predictions_count_5m"] / 300
    return {name: out[name] for name in FIGURES}


def metrics_attribute(values: dict[str, float]) -> str:
    """The endpoint item's ``metrics`` attribute as MLRun writes it."""
    return json.dumps({"generic": values})


def tsdb_name(name: str) -> str:
    """A feature or output name as a TSDB column (MLRun's normalisation, and anything else frames refuses)."""
    name = _NOT_IN_TSDB.sub("_", name.replace("-", "_"))
    return "_" + name if name[:1].isdigit() or not name else name


def custom_metrics(data: Mapping[str, Any] | None, positions: Sequence[int | None],
                   when_ms: Sequence[float] | FloatArray) -> tuple[int, dict[str, float]] | None:
    """The model server's ``metrics`` a record carries: the last kept request's that has any (``positions``:
    each kept request's index in ``values``, ``None`` for a single-request record), at that request's time;
    numbers only (text, booleans and non-finite values are left out). ``None`` when no request has any.

    >>> body = {"headers": ["request", "when", "metrics"], "values": [[{}, "t", {"acc": 0.9}], [{}, "t", None]]}
    >>> custom_metrics(body, [0, 1], [60_000.0, 61_000.0])
    (60000, {'acc': 0.9})
    >>> custom_metrics({"metrics": {"acc": 1, "note": "x", "ok": True}}, [None], [5.0])
    (5, {'acc': 1.0})
    """
    if not data:
        return None
    headers = data.get("headers")
    column = headers.index("metrics") if isinstance(headers, list) and "metrics" in headers else None
    values = data.get("values")
    for i in range(len(positions) - 1, -1, -1):
        position = positions[i]
        if position is None:
            sent = data.get("metrics")
        elif column is not None and isinstance(values, list) and position < len(values) \
                and isinstance(values[position], list) and column < len(values[position]):
            sent = values[position][column]
        else:
            continue
        numbers = {str(k): float(v) for k, v in sent.items()
                   if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)} \
            if isinstance(sent, dict) else {}
        if numbers:
            return int(when_ms[i]), numbers
    return None


@dataclasses.dataclass
class _Endpoint:
    """One endpoint's last hour of minutes, in plain Python: a record adds one or two minutes, and numpy or
    pandas calls on a few numbers cost more than the arithmetic."""

    minutes: dict[int, list[float]] = dataclasses.field(default_factory=dict)  # minute → [est, count, latency]
    batches: dict[str, int] = dataclasses.field(default_factory=dict)  # counted batch → its latest minute
    rows_seen: int = 0  # sample rows seen by this process (which of them are sampled)
    horizon: int | None = None  # minutes at or before it were pruned: pruning again waits until it moves

    def add(self, batch_id: str, rows: pd.DataFrame, estimated: str = "estimated_count") -> None:
        if batch_id in self.batches or rows.empty:
            return
        times = rows["time"].to_numpy(dtype=np.int64).tolist()
        columns = [rows[name].to_numpy(dtype=np.float64).tolist()
                   for name in (estimated, "count", "latency_sum_us")]
        for time, *values in zip(times, *columns, strict=True):
            minute = self.minutes.setdefault(time, [0.0, 0.0, 0.0])
            for k, value in enumerate(values):
                minute[k] += value
        self.batches[batch_id] = max(times)

    def prune(self, newest: int) -> None:
        """Forget the minutes (and counted batches) older than the hour before ``newest``: once a minute,
        the first record of a minute walking them (each record doing so was quadratic in records per hour)."""
        horizon = newest - _HOUR_MINUTES * MINUTE_MS
        if horizon == self.horizon:
            return
        self.horizon = horizon
        self.minutes = {t: v for t, v in self.minutes.items() if t > horizon}
        self.batches = {b: t for b, t in self.batches.items() if t > horizon}

    def figures(self, at_ms: int) -> dict[str, float]:
        minute = at_ms // MINUTE_MS * MINUTE_MS
        out: dict[str, float] = {}
        for suffix, width in (("5m", 5), ("1h", _HOUR_MINUTES)):
            first = minute - width * MINUTE_MS
            estimated = requests = latency = 0.0
            for time, (e, c, lat) in self.minutes.items():
                if first < time <= minute:
                    estimated, requests, latency = estimated + e, requests + c, latency + lat
            out[f"predictions_count_{suffix}"] = estimated
            out[f"latency_avg_{suffix}"] = latency / requests if requests else 0.0
        out["predictions_per_second"] = out["predictions_count_5m"] / 300
        return {name: out[name] for name in FIGURES}


class LiveStats:
    """The rolling figures of the endpoints one stream-function process sees, and their ``events`` rows."""

    def __init__(self, tsdb: TSDB, predictions_table: str, events_table: str) -> None:
        self._tsdb = tsdb
        self._predictions = predictions_table
        self._events = events_table
        self._endpoints: dict[str, _Endpoint] = {}

    def observe(self, endpoint_id: str, batch_id: str, minute_rows: pd.DataFrame, last_ms: int) -> dict[str, float]:
        """Add a record's per-minute rows (already in the predictions TSDB) and its figures as of ``last_ms``."""
        state = self._endpoints.get(endpoint_id)
        if state is None:  # first sight in this process: the last hour as stored, this record's rows included
            state = self._endpoints[endpoint_id] = _Endpoint()
            start = last_ms // MINUTE_MS * MINUTE_MS - _HOUR_MINUTES * MINUTE_MS
            stored = self._tsdb.read(self._predictions, start, last_ms + 1, filters={"endpoint_id": endpoint_id})
            if not stored.empty:
                stored = stored.assign(estimated_count=estimated_counts(stored))
                for batch, rows in stored.groupby("batch_id", sort=False):
                    state.add(str(batch), rows)
        state.add(batch_id, minute_rows, ESTIMATED)
        state.prune(last_ms // MINUTE_MS * MINUTE_MS)
        return state.figures(last_ms)

    def write(self, endpoint_id: str, last_ms: int, values: dict[str, float], samples: pd.DataFrame,
              names: list[str], custom: tuple[int, Mapping[str, float]] | None = None) -> None:
        """The record's ``base_metrics`` row at ``last_ms``, its sampled ``endpoint_features`` rows and, given
        its :func:`custom_metrics`, a ``custom_metrics`` row."""
        labels = {"endpoint_id": endpoint_id, "endpoint_type": str(NODE_ENDPOINT)}
        base = pd.DataFrame([{"time": last_ms, **labels, "record_type": BASE_METRICS, **values}])
        self._tsdb.write(self._events, base, labels=list(EVENTS_LABELS))
        if custom is not None and custom[1]:
            at, metrics = custom
            row = {"time": at, **labels, "record_type": CUSTOM_METRICS}
            for name, value in metrics.items():
                row.setdefault(tsdb_name(name), value)  # two names one column: the first is kept
            self._tsdb.write(self._events, pd.DataFrame([row]), labels=list(EVENTS_LABELS))
        features = self._sampled(endpoint_id, samples, names)
        if features is not None:
            self._tsdb.write(self._events, features.assign(**labels, record_type=ENDPOINT_FEATURES),
                             labels=list(EVENTS_LABELS))

    def _sampled(self, endpoint_id: str, samples: pd.DataFrame, names: list[str]) -> pd.DataFrame | None:
        """One row in :data:`FEATURE_SAMPLE` of the endpoint's rows (counted across records), numeric columns."""
        state = self._endpoints.setdefault(endpoint_id, _Endpoint())
        seen, state.rows_seen = state.rows_seen, state.rows_seen + len(samples)
        first = (-seen) % FEATURE_SAMPLE
        if first >= len(samples):
            return None
        kinds = samples.dtypes[~samples.columns.duplicated(keep=False)]  # a name given twice is ambiguous: left out
        numeric = [n for n in dict.fromkeys(names) if n in kinds.index and kinds[n].kind in "fiub"]
        if not numeric:
            return None
        values = samples[numeric].to_numpy(dtype=np.float64)[first::FEATURE_SAMPLE]
        columns = {"time": samples["timestamp"].to_numpy(dtype=np.int64)[first::FEATURE_SAMPLE]}
        for name, column in zip(numeric, values.T, strict=True):
            columns.setdefault(tsdb_name(name), column)
        out = pd.DataFrame(columns, copy=False)
        return out[~out["time"].duplicated()].reset_index(drop=True)

    @staticmethod
    def attributes(values: dict[str, Any]) -> dict[str, Any]:
        """The endpoint item attributes MLRun keeps current from the stream: ``metrics``."""
        return {"metrics": metrics_attribute(values)}
