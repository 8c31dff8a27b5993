"""The windows ``evaluate`` cuts from a DataFrame: the controller's windows, and only full ones.

With a base period the windows are ``[k * period, (k + 1) * period)`` since the epoch (UTC), as the
controller cuts them (:mod:`modelmon.controller.windows`), whatever time the first row has. A window is
analysed only when it is *full*, since the controller analyses a window only once it has closed:

- where ``start``/``end`` are given, they say where the data is complete: the windows that lie inside
  ``[start, end)`` are full (an unaligned ``start`` or ``end`` cuts into a window, which is left out);
- where they are not, the data's own first and last rows bound it. Rows rarely sit on a window's
  edge, so an edge window counts as full when its first row is within one typical row spacing (the
  median gap between consecutive rows) of its start, or its last row within one spacing of its end.

Rows outside the analysed windows are counted (``rows_left_out``), and a
:class:`PartialWindowsWarning` says which. Without a base period there is one window, ``[start, end)``,
by default from the first row to just after the last.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import warnings

import numpy as np
import pandas as pd

from modelmon.core.arrays import BoolArray, IntArray
from modelmon.core.timeutil import TimeLike, iso, to_ms


class PartialWindowsWarning(UserWarning):
    """``evaluate`` left out rows that fall in windows the data does not cover in full."""


@dataclasses.dataclass(frozen=True)
class Windows:
    """The windows to analyse, ``(start_ms, end_ms, rows)`` each, and how many rows none of them holds."""

    windows: list[tuple[int, int, pd.DataFrame]]
    rows_left_out: int


def cut_windows(df: pd.DataFrame, times: pd.Series | None, start: TimeLike | None, end: TimeLike | None,
                base_period: int | None) -> Windows:
    """The windows of ``df`` (event times ``times`` in epoch ms, or ``None`` without a timestamp column);
    warns with :class:`PartialWindowsWarning` when rows are left out."""
    start_ms = to_ms(start) if start is not None else None
    end_ms = to_ms(end) if end is not None else None
    if start_ms is not None and end_ms is not None and end_ms < start_ms:
        raise ValueError(f"end ({end}) is before start ({start})")
    if base_period is not None:
        if isinstance(base_period, bool) or not isinstance(base_period, int) or base_period < 1:
            raise ValueError(f"base_period must be a whole number of minutes >= 1, got {base_period!r}")
        if times is None:
            raise ValueError("base_period needs a 'timestamp' column in sample_df")
    if times is None:
        return Windows([(start_ms or 0, end_ms if end_ms is not None else start_ms or 0, df)], 0)
    values = times.to_numpy(dtype="int64")
    if base_period is None:
        lo = start_ms if start_ms is not None else (int(values.min()) if len(values) else 0)
        hi = end_ms if end_ms is not None else (int(values.max()) + 1 if len(values) else lo)
        bounds = [(lo, max(hi, lo))]  # a start after the last row: an empty window
    else:
        bounds = _full_windows(values, start_ms, end_ms, base_period * 60_000)
    if not bounds:
        kept = np.zeros(len(values), dtype=bool)
        windows = []
    else:
        kept = (values >= bounds[0][0]) & (values < bounds[-1][1])
        windows = [(s, e, df[(values >= s) & (values < e)]) for s, e in bounds]
    left_out = int(len(values) - kept.sum())
    if left_out:
        warnings.warn(_left_out_message(values, kept, bounds, base_period), PartialWindowsWarning,
                      stacklevel=_caller_stacklevel())
    return Windows(windows, left_out)


def _caller_stacklevel() -> int:
    """The ``stacklevel`` of the first frame outside this package: the line that called ``evaluate``
    (on an instance or on the class, which adds a frame)."""
    here = os.path.dirname(__file__)
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and os.path.dirname(frame.f_code.co_filename) == here:
        frame, level = frame.f_back, level + 1
    return level


def _full_windows(values: IntArray, start_ms: int | None, end_ms: int | None, period: int) -> list[tuple[int, int]]:
    """The epoch-aligned windows of ``period`` ms the data (or the given bounds) covers in full."""
    from modelmon.controller.windows import ceil_to, floor_to  # the controller's own alignment

    if len(values) == 0 and (start_ms is None or end_ms is None):
        return []
    spacing = _typical_spacing(values)
    if start_ms is not None:
        first = ceil_to(start_ms, period)
    else:
        first = floor_to(int(values.min()), period)
        if int(values.min()) - first > spacing:
            first += period  # the data starts too far into its first window
    if end_ms is not None:
        last_end = floor_to(end_ms, period)
    else:
        last_end = ceil_to(int(values.max()) + 1, period)
        if last_end - int(values.max()) > spacing:
            last_end -= period  # the data ends too early in its last window
    return [(s, s + period) for s in range(first, last_end, period)]


def _typical_spacing(values: IntArray) -> int:
    """The median gap between consecutive distinct event times (0 with fewer than two)."""
    gaps = np.diff(np.unique(values))
    return int(np.median(gaps)) if len(gaps) else 0


def _left_out_message(values: IntArray, kept: BoolArray, bounds: list[tuple[int, int]],
                      base_period: int | None) -> str:
    total, left_out = len(values), int(len(values) - kept.sum())
    if not bounds:
        where = "no window is covered in full"
    else:
        before = int((values < bounds[0][0]).sum())
        after = int((values >= bounds[-1][1]).sum())
        parts = ([f"{before} before {iso(bounds[0][0])}"] if before else []) + (
            [f"{after} from {iso(bounds[-1][1])}"] if after else [])
        where = " and ".join(parts)
    how = ("only windows the data covers in full are analysed, as the controller analyses only closed "
           "windows; pass start=/end= to say where the data is complete") if base_period is not None else (
           "they lie outside [start, end)")
    return f"evaluate left out {left_out} of {total} rows ({where}): {how}"
