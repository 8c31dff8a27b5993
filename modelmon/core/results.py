"""What a monitoring application returns: results and metrics, with MLRun's names and values."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import re
from collections.abc import Mapping
from typing import Any

_RESULT_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


class ResultKindApp(enum.IntEnum):
    """What a result is about (MLRun's ``ResultKindApp``)."""

    data_drift = 0
    concept_drift = 1
    model_performance = 2
    system_performance = 3
    mm_app_anomaly = 4


class ResultStatusApp(enum.IntEnum):
    """How bad a result is; ``detected`` means the application found a problem."""

    irrelevant = -1
    no_detection = 0
    potential_detection = 1
    detected = 2


def check_result_name(name: object) -> str:
    """``name`` if it is a valid result/metric name, else a ``ValueError`` saying why."""
    if not isinstance(name, str) or not _RESULT_NAME.fullmatch(name):
        raise ValueError(
            f"invalid result name {name!r}: it must match [a-zA-Z_][a-zA-Z0-9_]* "
            "(letters, digits and '_', not starting with a digit)"
        )
    return name


def check_value(name: str, value: object) -> float:
    """``value`` as a float, else a ``ValueError`` naming the result.

    A missing value (NaN, or ``None``, as an LLM judge returns when its model gives no score) is kept as
    NaN, as MLRun keeps it; it is stored and read as missing. Infinities are refused: no reader could
    tell them from a bug, and JSON cannot carry them.

    >>> check_value("score", "0.25"), check_value("score", None)
    (0.25, nan)
    """
    if value is None:
        return math.nan
    if isinstance(value, str):  # MLRun's pydantic results read numeric text as its number
        try:
            value = float(value)
        except ValueError:
            raise ValueError(f"result {name!r}: value must be a number, got the text {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            import numpy as np

            if isinstance(value, np.number):
                value = float(value)
            else:
                raise TypeError
        except TypeError:
            raise ValueError(f"result {name!r}: value must be a number, got {type(value).__name__}") from None
    number = float(value)
    if math.isinf(number):
        raise ValueError(f"result {name!r}: value must be finite or missing (NaN), got {number}")
    return number


def stored_value(value: float) -> float | None:
    """``value`` as stores and JSON keep it: ``None`` for a missing (NaN) value.

    >>> stored_value(0.5), stored_value(float("nan"))
    (0.5, None)
    """
    return None if math.isnan(value) else value


def plain_json(value: Any, where: str) -> Any:
    """``value`` as plain JSON data: NaN and infinities become ``None`` (missing), numpy scalars and arrays
    Python numbers and lists, tuples lists; anything else JSON cannot hold is a ``ValueError`` naming ``where``.

    >>> plain_json({"score": float("nan"), "tokens": (3, 4)}, "extra_data")
    {'score': None, 'tokens': [3, 4]}
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | int | bool):
        return value
    if isinstance(value, dict):
        return {_json_key(k, where): plain_json(v, where) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_json(v, where) for v in value]
    if isinstance(value, enum.Enum):
        return plain_json(value.value, where)
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays
    if callable(tolist) and type(value).__module__ == "numpy":
        return plain_json(tolist(), where)
    raise ValueError(f"{where} is not JSON-serialisable: a {type(value).__name__} ({value!r:.80})")


def _json_key(key: Any, where: str) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, int | float | bool) or key is None:
        return json.dumps(key)  # as json.dumps writes such keys
    raise ValueError(f"{where} is not JSON-serialisable: a key of type {type(key).__name__}")


@dataclasses.dataclass
class ModelMonitoringApplicationResult:
    """One result of an application for one window of one endpoint.

    >>> r = ModelMonitoringApplicationResult("general_drift", 0.12, ResultKindApp.data_drift,
    ...                                      ResultStatusApp.no_detection)
    >>> r.to_dict()["status"]
    0
    """

    name: str
    value: float
    kind: ResultKindApp
    status: ResultStatusApp
    extra_data: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        check_result_name(self.name)
        self.value = check_value(self.name, self.value)
        try:
            self.kind = ResultKindApp(self.kind)
        except ValueError:
            raise ValueError(f"result {self.name!r}: unknown kind {self.kind!r}") from None
        try:
            self.status = ResultStatusApp(self.status)
        except ValueError:
            raise ValueError(f"result {self.name!r}: unknown status {self.status!r}") from None
        if self.extra_data is None:
            self.extra_data = {}
        if not isinstance(self.extra_data, dict):
            raise ValueError(f"result {self.name!r}: extra_data must be a dict")
        self.extra_data = plain_json(self.extra_data, f"result {self.name!r}: extra_data")

    @classmethod
    def from_decoded(cls, data: Mapping[str, Any]) -> ModelMonitoringApplicationResult:
        """The result of :meth:`to_dict`'s output after a JSON round trip, checked as the constructor checks it;
        its ``extra_data`` is not walked for values JSON cannot hold: a JSON decoder yields nothing else, and the
        walk cost the writer ~0.1 CPU-second per close of 1,000 endpoints x 3 apps (8%). ``KeyError`` or
        ``ValueError`` for a missing or bad field, ``TypeError`` when ``data`` is no mapping."""
        if not isinstance(data, Mapping):
            raise TypeError(f"a result must be a JSON object, not {type(data).__name__}")
        extra = data.get("extra_data") or {}
        if not isinstance(extra, dict):
            raise ValueError(f"result {data['name']!r}: extra_data must be a dict")
        result = cls(data["name"], data["value"], data["kind"], data["status"])
        result.extra_data = extra
        return result

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": stored_value(self.value),
            "kind": int(self.kind),
            "status": int(self.status),
            "extra_data": self.extra_data,
        }


@dataclasses.dataclass
class ModelMonitoringApplicationMetric:
    """A named number an application reports for a window, with no status."""

    name: str
    value: float

    def __post_init__(self) -> None:
        check_result_name(self.name)
        self.value = check_value(self.name, self.value)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": stored_value(self.value)}


class StatsKind(enum.StrEnum):
    """What a stats output holds (MLRun's ``StatsKind``): the window's feature statistics, or its drift
    measures per feature."""

    CURRENT_STATS = "current_stats"
    DRIFT_MEASURES = "drift_measures"


@dataclasses.dataclass
class ModelMonitoringApplicationStats:
    """Statistics an app reports for a window (MLRun's ``_ModelMonitoringApplicationStats``, as MLRun's
    histogram app returns them next to its results).

    MLRun's writer keeps them per endpoint and kind, with their time; modelmon stores each as a JSON
    artifact of the window named after its kind (``current_stats.json``, ``drift_measures.json``) holding
    ``{"stats_name", "timestamp", "stats"}``, listed by ``modelmon artifacts``.

    >>> ModelMonitoringApplicationStats("drift_measures", "2026-01-01T00:00:00+00:00", {"f0": 0.1}).to_dict()
    {'stats_name': 'drift_measures', 'stats': {'f0': 0.1}, 'timestamp': '2026-01-01T00:00:00+00:00'}
    """

    name: StatsKind
    timestamp: str
    stats: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            self.name = StatsKind(self.name)
        except ValueError:
            raise ValueError(f"stats {self.name!r}: the name is a StatsKind: "
                             f"{', '.join(k.value for k in StatsKind)}") from None
        if not isinstance(self.timestamp, str):
            isoformat = getattr(self.timestamp, "isoformat", None)
            if not callable(isoformat):
                raise ValueError(f"stats {self.name.value!r}: timestamp must be ISO text or a datetime")
            self.timestamp = str(isoformat())
        if self.stats is None:
            self.stats = {}
        if not isinstance(self.stats, dict):
            raise ValueError(f"stats {self.name.value!r}: stats must be a dict")
        self.stats = plain_json(self.stats, f"stats {self.name.value!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"stats_name": self.name.value, "stats": self.stats, "timestamp": self.timestamp}


#: MLRun's name, for apps that import it.
_ModelMonitoringApplicationStats = ModelMonitoringApplicationStats
