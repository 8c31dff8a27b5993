"""The demo's tracked traffic: three scenarios over several windows, as MLRun batched tracking records.

Rows are drawn (with replacement) from the reference data, so an undrifted window is the reference
distribution itself; a drifted feature is moved by a multiple of its reference standard deviation.
Event times lie in the past, spread evenly inside each window, the last row of the last window one
millisecond before its end: the endpoint's watermark then reaches that end and every window is closed
as soon as its rows are stored. Everything is seeded, so two runs send the same bytes (except times).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
import pandas as pd

from modelmon.backends.base import OutRecord
from modelmon.core.arrays import FloatArray, IntArray
from modelmon.demo.dataset import DemoModel
from modelmon.events import endpoint_uid, tracking_body

NONE, GRADUAL, SUDDEN = "none", "gradual", "sudden"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
PREDICTION = "prediction"  # the endpoints' one output column


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One demo endpoint: its model name and how its traffic drifts.

    ``gradual``: the ``drifted`` features move linearly from 0 (first window) to ``shift_std`` standard
    deviations (last window). ``sudden``: they jump by ``shift_std`` from the middle window on.
    """

    key: str
    name: str
    drift: str = NONE
    drifted: tuple[str, ...] = ()
    shift_std: float = 0.0

    def __post_init__(self) -> None:
        if self.drift not in (NONE, GRADUAL, SUDDEN):
            raise ValueError(f"scenario {self.key}: drift {self.drift!r} is not one of none, gradual, sudden")

    def shift(self, window: int, windows: int) -> float:
        """How many standard deviations the drifted features move in ``window`` (0-based) of ``windows``.

        >>> Scenario("B", "b", GRADUAL, ("x",), 2.0).shift(2, 5), Scenario("C", "c", SUDDEN, ("x",), 2.0).shift(1, 4)
        (1.0, 0.0)
        """
        if self.drift == GRADUAL:
            return self.shift_std * window / max(1, windows - 1)
        if self.drift == SUDDEN:
            return self.shift_std if window >= windows // 2 else 0.0
        return 0.0

    def describe(self) -> str:
        if self.drift == NONE:
            return "no drift"
        how = "gradual drift up to" if self.drift == GRADUAL else "sudden shift (middle window on) of"
        return f"{how} {self.shift_std:g} std in {len(self.drifted)} features"


def default_scenarios(feature_names: Sequence[str]) -> list[Scenario]:
    """A: undrifted; B: the ``mean_*`` features drift gradually; C: ``mean_*``/``worst_*`` shift suddenly."""
    mean = tuple(f for f in feature_names if f.startswith("mean_"))
    worst = tuple(f for f in feature_names if f.startswith("worst_"))
    return [
        Scenario("A", "cancer-stable"),
        Scenario("B", "cancer-gradual", GRADUAL, mean, 1.5),
        Scenario("C", "cancer-shift", SUDDEN, mean + worst, 2.5),
    ]


@dataclasses.dataclass(frozen=True)
class TrafficPlan:
    """``windows`` windows of ``period_ms`` from ``first_start_ms``, ``rows_per_window`` rows each."""

    first_start_ms: int
    windows: int
    rows_per_window: int
    period_ms: int = 60_000
    requests_per_record: int = 100

    def __post_init__(self) -> None:
        if self.first_start_ms % self.period_ms:
            raise ValueError("first_start_ms must be a multiple of period_ms (windows are aligned)")
        if not 1 <= self.rows_per_window <= self.period_ms:
            raise ValueError(f"rows_per_window must be between 1 and {self.period_ms}")
        if self.windows < 1 or self.requests_per_record < 1:
            raise ValueError("windows and requests_per_record must be at least 1")

    @classmethod
    def ending_at(cls, now_ms: int, windows: int, rows_per_window: int, period_ms: int = 60_000,
                  requests_per_record: int = 100) -> TrafficPlan:
        """The plan whose last window ends at the window boundary at or before ``now_ms``."""
        end = now_ms // period_ms * period_ms
        return cls(end - windows * period_ms, windows, rows_per_window, period_ms, requests_per_record)

    @property
    def window_starts(self) -> list[int]:
        return [self.first_start_ms + i * self.period_ms for i in range(self.windows)]

    def times(self, window: int) -> IntArray:
        """Event times (ms) of a window's rows: evenly spread, the last one at ``end - 1``."""
        start = self.first_start_ms + window * self.period_ms
        j = np.arange(1, self.rows_per_window + 1, dtype=np.int64)
        return start + j * self.period_ms // self.rows_per_window - 1


class TrafficGenerator:
    """Builds the tracking records of each scenario, window by window, from a seeded generator."""

    def __init__(self, model: DemoModel, project: str, plan: TrafficPlan, seed: int = 0,
                 function_uri: str | None = None) -> None:
        self.model = model
        self.project = project
        self.plan = plan
        self.function_uri = function_uri or f"{project}/serving"
        self._seed = seed
        self._values: FloatArray = model.reference.to_numpy(dtype=np.float64)
        self._std = self._values.std(axis=0)

    def endpoint_id(self, scenario: Scenario) -> str:
        """The id MLRun (and the stream function) computes for this scenario's model."""
        return endpoint_uid(self.project, self.function_uri, scenario.name, "1")

    def window_rows(self, scenario: Scenario, window: int) -> FloatArray:
        """The feature rows of one window: reference rows drawn with replacement, drifted features moved."""
        rng = np.random.default_rng([self._seed, ord(scenario.key[0]), window])
        drawn = rng.integers(0, len(self._values), self.plan.rows_per_window)
        rows: FloatArray = self._values[drawn].copy()
        shift = scenario.shift(window, self.plan.windows)
        if shift:
            columns = [self.model.feature_names.index(f) for f in scenario.drifted]
            rows[:, columns] += shift * self._std[columns]
        return rows

    def window_frame(self, scenario: Scenario, window: int) -> pd.DataFrame:
        """One window as the sample store should hold it: time, request id, latency, features, prediction."""
        rows = self.window_rows(scenario, window)
        rng = np.random.default_rng([self._seed, ord(scenario.key[0]), window, 1])
        frame = pd.DataFrame({
            "timestamp": self.plan.times(window),
            "request_id": [f"{scenario.key}-{window}-{i}" for i in range(len(rows))],
            "latency_us": rng.lognormal(np.log(2_000), 0.3, len(rows)).astype(np.int64),
        })
        features = pd.DataFrame(rows, columns=self.model.feature_names)
        return pd.concat([frame, features], axis=1).assign(**{PREDICTION: self.model.predict(rows)})

    def records(self, scenario: Scenario, window: int) -> list[OutRecord]:
        """One window of ``scenario`` as batched tracking records, partitioned by endpoint id."""
        frame = self.window_frame(scenario, window)
        features = frame[self.model.feature_names].to_numpy().tolist()
        meta = list(frame[["request_id", "timestamp", "latency_us", PREDICTION]].itertuples(index=False))
        step = self.plan.requests_per_record
        return [self._record(scenario, features[first:first + step], meta[first:first + step])
                for first in range(0, len(frame), step)]

    def _record(self, scenario: Scenario, features: list[list[float]], meta: Sequence[tuple[Any, ...]]) -> OutRecord:
        requests = [
            {"request": {"id": request_id, "inputs": [row]},
             "resp": {"id": request_id, "model_name": scenario.name, "model_version": "1",
                      "outputs": [int(prediction)]},
             "when": _when(int(when)), "microsec": int(latency)}
            for row, (request_id, when, latency, prediction) in zip(features, meta, strict=True)
        ]
        body = tracking_body(model=scenario.name, version="1", function_uri=self.function_uri,
                             model_class="sklearn.linear_model.LogisticRegression", requests=requests)
        return OutRecord(orjson.dumps(body), partition_key=self.endpoint_id(scenario))


def _when(ms: int) -> str:
    """Time as MLRun's serving writes it: ``str(datetime)`` in UTC."""
    return str(_EPOCH + dt.timedelta(milliseconds=ms))  # exact: no float rounding of the milliseconds
