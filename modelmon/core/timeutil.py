"""Time conversions. Internally every instant is an ``int`` of epoch milliseconds (UTC)."""

from __future__ import annotations

import datetime as dt
import time

import pandas as pd

TimeLike = int | float | str | dt.datetime | pd.Timestamp


def now_ms() -> int:
    """The current wall-clock time in epoch milliseconds."""
    return time.time_ns() // 1_000_000


def to_ms(value: TimeLike) -> int:
    """Epoch milliseconds from an int (already ms), a datetime/Timestamp or an ISO string.

    Naive datetimes and strings without an offset are taken as UTC.

    >>> to_ms("1970-01-01 00:00:01")
    1000
    >>> to_ms(1500)
    1500
    """
    if isinstance(value, bool):
        raise TypeError("a time cannot be a bool")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return int(ts.value // 1_000_000)


def from_ms(ms: int) -> pd.Timestamp:
    """A UTC ``pd.Timestamp`` from epoch milliseconds.

    >>> from_ms(0)
    Timestamp('1970-01-01 00:00:00+0000', tz='UTC')
    """
    return pd.Timestamp(int(ms), unit="ms", tz="UTC")


def iso(ms: int) -> str:
    """ISO-8601 text (UTC, with offset) for epoch milliseconds."""
    return from_ms(ms).isoformat()
