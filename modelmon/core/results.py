"""What a monitoring application returns: results and metrics, with MLRun's names and values."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import re
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
    """``value`` as a finite float, else a ``ValueError`` naming the result."""
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
    if not math.isfinite(number):
        raise ValueError(f"result {name!r}: value must be finite, got {number}")
    return number


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
        try:
            json.dumps(self.extra_data, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"result {self.name!r}: extra_data is not JSON-serialisable ({exc})") from None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
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
        return {"name": self.name, "value": self.value}
