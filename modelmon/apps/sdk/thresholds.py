"""Turning a number into a result status with two thresholds (potential, detected).

>>> Thresholds(0.05, 0.2).status(0.1)
<ResultStatusApp.potential_detection: 1>
>>> Thresholds(100.0, 50.0, higher_is_worse=False).status(40.0)
<ResultStatusApp.detected: 2>
>>> Thresholds(0.5, 0.7, inclusive=True).status(0.7)
<ResultStatusApp.detected: 2>
"""

from __future__ import annotations

import dataclasses
import math
import operator

from modelmon.core.results import ResultStatusApp


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """``detected`` when the value is strictly beyond ``detected``, ``potential_detection`` when strictly
    beyond ``potential``, else ``no_detection``. "Beyond" is above, or below when ``higher_is_worse`` is False.
    With ``inclusive``, a value at a threshold already reaches it (MLRun's data-drift rule).
    """

    potential: float
    detected: float
    higher_is_worse: bool = True
    inclusive: bool = False

    def __post_init__(self) -> None:
        for name in ("potential", "detected"):
            check_threshold(f"threshold {name}", getattr(self, name))
        if self.higher_is_worse and self.potential > self.detected:
            raise ValueError(f"potential threshold {self.potential} is above detected {self.detected}")
        if not self.higher_is_worse and self.potential < self.detected:
            raise ValueError(f"potential threshold {self.potential} is below detected {self.detected} "
                             "(lower values are worse here)")

    def status(self, value: float) -> ResultStatusApp:
        """The status of ``value``."""
        sign = 1.0 if self.higher_is_worse else -1.0
        reaches = operator.ge if self.inclusive else operator.gt
        if reaches(sign * value, sign * self.detected):
            return ResultStatusApp.detected
        if reaches(sign * value, sign * self.potential):
            return ResultStatusApp.potential_detection
        return ResultStatusApp.no_detection

    def to_dict(self) -> dict[str, float]:
        """For ``extra_data``: the thresholds a status was judged by."""
        return {"potential": self.potential, "detected": self.detected}


def thresholds(
    value: Thresholds | tuple[float, float],
    *,
    higher_is_worse: bool = True,
    inclusive: bool = False,
    name: str = "",
    minimum: float | None = None,
) -> Thresholds:
    """A ``Thresholds`` from a constructor argument given as ``(potential, detected)`` or as one.

    ``name`` (the argument's) starts every error message; ``minimum`` rejects thresholds below it.

    >>> thresholds((-1, 0.5), name="share", minimum=0)
    Traceback (most recent call last):
    ValueError: share: threshold potential must be a finite number >= 0, got -1
    """
    try:
        if isinstance(value, Thresholds):
            limits = value
        else:
            try:
                potential, detected = value
            except (TypeError, ValueError):
                raise ValueError(f"thresholds must be a (potential, detected) pair, got {value!r}") from None
            limits = Thresholds(potential, detected, higher_is_worse, inclusive)
        for field in ("potential", "detected"):
            check_threshold(f"threshold {field}", getattr(limits, field), minimum=minimum)
    except ValueError as exc:
        if not name:
            raise
        raise ValueError(f"{name}: {exc}") from None
    return limits


def check_threshold(name: str, value: object, *, minimum: float | None = None) -> None:
    """A ``ValueError`` naming ``name`` unless ``value`` is a finite number (not a bool) and not below ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or (minimum is not None and value < minimum):
        floor = "" if minimum is None else f" >= {minimum}"
        raise ValueError(f"{name} must be a finite number{floor}, got {value!r}")
