"""The potential/detected thresholds a result's status was judged by, for drawing them next to its values.

The source is what the app stored: built-in apps put the ``Thresholds`` they judged a window by into the
result's ``extra_data`` (:meth:`modelmon.apps.sdk.thresholds.Thresholds.to_dict`) under ``thresholds``
(histogram drift's ``general_drift``, data quality, model performance), ``share_thresholds``
(``drifted_features_share``) or ``slo`` (system performance; ``null`` when the result has no SLO). The
latest window's ``extra_data`` is read. When it has none (a window the histogram app found nothing to
compare in stores only a reason), the histogram app's thresholds are its registered kwargs over the
class's defaults. ``potential > detected`` means lower values are worse (throughput).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from modelmon.ui.context import UIContext

#: extra_data keys holding {"potential", "detected"}, in the order they are looked up.
EXTRA_KEYS = ("thresholds", "share_thresholds", "slo")
#: The histogram app's constructor arguments per result: (potential, detected).
_HISTOGRAM_KWARGS = {"general_drift": ("potential_threshold", "detected_threshold"),
                     "drifted_features_share": ("share_potential_threshold", "share_detected_threshold")}


def result_thresholds(context: UIContext, app: str, result: str,
                      extra_data: Mapping[str, Any] | None) -> tuple[dict[str, float] | None, str | None]:
    """``({"potential", "detected"}, source)`` or ``(None, None)``; source is ``"extra_data.<key>"`` or
    ``"registered app"``."""
    for key in EXTRA_KEYS:
        limits = _pair((extra_data or {}).get(key))
        if limits is not None:
            return limits, f"extra_data.{key}"
    if app in context.apps_of_class(context.DRIFT_CLASS) and result in _HISTOGRAM_KWARGS:
        return _histogram_kwargs(context, app, result), "registered app"
    return None, None


def _pair(value: Any) -> dict[str, float] | None:
    if not isinstance(value, Mapping):
        return None
    potential, detected = value.get("potential"), value.get("detected")
    if not isinstance(potential, int | float) or not isinstance(detected, int | float) \
            or isinstance(potential, bool) or isinstance(detected, bool):
        return None
    return {"potential": float(potential), "detected": float(detected)}


def _histogram_kwargs(context: UIContext, app: str, result: str) -> dict[str, float]:
    from modelmon.apps.builtin.histogram_drift import HistogramDataDriftApplication

    defaults = inspect.signature(HistogramDataDriftApplication.__init__).parameters
    kwargs = next((a.kwargs for a in context.apps() if a.name == app), {})
    potential, detected = (float(kwargs.get(name, defaults[name].default)) for name in _HISTOGRAM_KWARGS[result])
    return {"potential": potential, "detected": detected}
