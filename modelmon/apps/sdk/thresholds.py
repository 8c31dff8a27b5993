"""Turning a number into a result status with two thresholds (potential, detected).

>>> Thresholds(0.05, 0.2).status(0.1)
<ResultStatusApp.potential_detection: 1>
>>> Thresholds(100.0, 50.0, higher_is_worse=False).status(40.0)
<ResultStatusApp.detected: 2>
"""

from __future__ import annotations

import dataclasses
import math

from modelmon.core.results import ResultStatusApp


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """``detected`` when the value is strictly beyond ``detected``, ``potential_detection`` when strictly
    beyond ``potential``, else ``no_detection``. "Beyond" is above, or below when ``higher_is_worse`` is False.
    """

    potential: float
    detected: float
    higher_is_worse: bool = True

    def __post_init__(self) -> None:
        for name in ("potential", "detected"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"threshold {name} must be a finite number, got {value!r}")
        if self.higher_is_worse and self.potential > self.detected:
            raise ValueError(f"potential threshold {self.potential} is above detected {self.detected}")
        if not self.higher_is_worse and self.potential < self.detected:
            raise ValueError(f"potential threshold {self.potential} is below detected {self.detected} "
                             "(lower values are worse here)")

    def status(self, value: float) -> ResultStatusApp:
        """The status of ``value``."""
        sign = 1.0 if self.higher_is_worse else -1.0
        if sign * value > sign * self.detected:
            return ResultStatusApp.detected
        if sign * value > sign * self.potential:
            return ResultStatusApp.potential_detection
        return ResultStatusApp.no_detection

    def to_dict(self) -> dict[str, float]:
        """For ``extra_data``: the thresholds a status was judged by."""
        return {"potential": self.potential, "detected": self.detected}


def thresholds(value: Thresholds | tuple[float, float], *, higher_is_worse: bool = True) -> Thresholds:
    """A ``Thresholds`` from a constructor argument given as ``(potential, detected)`` or as one."""
    if isinstance(value, Thresholds):
        return value
    try:
        potential, detected = value
    except (TypeError, ValueError):
        raise ValueError(f"thresholds must be a (potential, detected) pair, got {value!r}") from None
    return Thresholds(potential, detected, higher_is_worse)
