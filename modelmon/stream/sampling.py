"""How many predictions a tracked request stands for, when its producer sampled: MLRun's estimate.

MLRun's serving pusher (1.8+) keeps each input row of a request with probability ``sampling_percentage``
and sends, with the request, the percentage and ``effective_sample_count`` (the rows it kept). Its stream
function stores ``effective_sample_count * 100 / sampling_percentage`` as the estimated prediction count
(``effective_sample_count`` defaulting to 1, the percentage to 100). Here a request's estimate is its
rows (``effective_sample_count`` when the record is one request that gives it) times
``100 / sampling_percentage``. For a one-row request that is MLRun's number; for a request of ``n`` rows
MLRun stores the event's estimate on each of its rows (``n * n * 100 / p`` in all), modelmon ``n * 100 / p``.
A percentage outside ``(0, 100]`` is read as 100, as MLRun's sampling step does; an
``effective_sample_count`` that is not a whole number >= 0 (below 2**53) is ignored (the rows are counted).

>>> import numpy as np
>>> from modelmon.events import TrackingEvent
>>> event = TrackingEvent("e", "p/f", "m", None, "", {}, ["a"], [[[1.0]]], [[[0]]], ["0"], [1], [None])
>>> estimated_predictions({"sampling_percentage": 25.0, "effective_sample_count": 1}, event, single=True)
array([4.])
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from modelmon.core.arrays import FloatArray, IntArray
from modelmon.events import TrackingEvent

#: The fields of a tracking record (MLRun's names) that say how it was sampled.
SAMPLING_PERCENTAGE = "sampling_percentage"
EFFECTIVE_SAMPLE_COUNT = "effective_sample_count"


def sampling_percentage(data: Mapping[str, Any] | None) -> float:
    """The record's sampling percentage: a number in ``(0, 100]``, else 100 (no sampling)."""
    value = None if data is None else data.get(SAMPLING_PERCENTAGE)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return 100.0
    return float(value) if 0 < value <= 100 else 100.0


def estimated_predictions(data: Mapping[str, Any] | None, event: TrackingEvent, *, single: bool,
                          row_counts: IntArray | None = None) -> FloatArray:
    """Per request of ``event``: the predictions it stands for (0 for an error event).

    ``data`` is the decoded record; ``single``: the record is one request (MLRun's shape), so its
    ``effective_sample_count`` is that request's. ``row_counts``: each request's rows when already
    counted (a record without error events), else they are counted from ``event``.
    """
    scale = 100.0 / sampling_percentage(data)
    if row_counts is not None and len(row_counts) == len(event):
        rows = row_counts.astype(np.float64)
    else:
        rows = np.array([0.0 if error is not None else float(len(inputs))
                         for inputs, error in zip(event.inputs, event.errors, strict=True)])
    given = None if data is None else data.get(EFFECTIVE_SAMPLE_COUNT)
    if (single and len(rows) == 1 and event.errors[0] is None and isinstance(given, int)
            and not isinstance(given, bool) and 0 <= given < 2**53):
        rows[0] = float(given)
    return rows * scale
