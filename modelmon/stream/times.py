"""Tracking ``when`` values: vectorised conversion to epoch milliseconds, and the times ingestion accepts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import warnings
from collections.abc import Sequence
from itertools import compress, repeat
from typing import Any

import numpy as np
import pandas as pd

from modelmon.core.arrays import FloatArray
from modelmon.core.config import ENV_MAX_EVENT_AGE, ENV_MAX_EVENT_SKEW, Settings


def when_to_ms(values: Sequence[Any]) -> FloatArray:
    """Epoch ms (float64, NaN where unreadable) for every ``when`` of a record, vectorised.

    Numbers are epoch milliseconds; text is ISO-8601 (MLRun writes ``str(datetime)``), naive text
    being UTC, as :func:`modelmon.core.timeutil.to_ms` reads them.

    A number outside the years 1-9999 is no date at all and reads as NaN too.

    >>> when_to_ms(["1970-01-01 00:00:01", 1500, "1970-01-01T00:00:02+01:00", "soon", 1e20, 10**400]).tolist()
    [1000.0, 1500.0, -3598000.0, nan, nan, nan]
    """
    out = np.full(len(values), np.nan)
    kinds = set(map(type, values))
    if kinds <= {str}:  # MLRun's shape: all text
        is_text = np.ones(len(values), dtype=bool)
    elif str in kinds:
        is_text = np.fromiter(map(isinstance, values, repeat(str)), dtype=bool, count=len(values))
    else:
        is_text = np.zeros(len(values), dtype=bool)
    if is_text.any():
        text = list(values) if is_text.all() else list(compress(values, is_text))
        ms = _naive_iso_ms(text) if _all_dated(text) else None
        out[is_text] = _pandas_ms(text) if ms is None else ms
    if not is_text.all():
        numbers = list(compress(values, ~is_text))
        out[~is_text] = _numbers(numbers)
    out[~np.isfinite(out) | (out < _FIRST_MS) | (out > _LAST_MS)] = np.nan
    floored: FloatArray = np.floor(out)
    return floored


#: Years 1 to 9999, the dates a time can name (``datetime``'s range).
_FIRST_MS = (dt.datetime.min.replace(tzinfo=dt.UTC) - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(
    milliseconds=1)
_LAST_MS = (dt.datetime.max.replace(tzinfo=dt.UTC) - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(
    milliseconds=1)


@dataclasses.dataclass(frozen=True)
class TimeBounds:
    """The event times ingestion accepts: from ``max_age_ms`` before the time a record is read to
    ``max_skew_ms`` after it.

    A time far ahead would move the endpoint's watermark past every window to come (no analysis until
    that time); a time far back names windows that were analysed, or skipped, long ago. ``settings``
    names the settings each bound comes from, for the reasons given to the sender.
    """

    max_age_ms: int
    max_skew_ms: int
    settings: tuple[str, str] = ("max_age", "max_skew")

    @classmethod
    def from_settings(cls, settings: Settings) -> TimeBounds:
        """The bounds the deployment configures (``MODELMON_MAX_EVENT_AGE_MINUTES`` / ``..._SKEW_MINUTES``)."""
        return cls(settings.max_event_age_minutes * 60_000, settings.max_event_skew_minutes * 60_000,
                   (ENV_MAX_EVENT_AGE, ENV_MAX_EVENT_SKEW))

    def reason(self, when: object, when_ms: float, now_ms: int) -> str | None:
        """Why ``when`` (read as ``when_ms``) is outside the bounds at ``now_ms``; ``None`` if inside.

        >>> bounds = TimeBounds(max_age_ms=3_600_000, max_skew_ms=60_000, settings=("AGE", "SKEW"))
        >>> bounds.reason(1_000, 1_000.0, 0)
        >>> bounds.reason(120_000, 120_000.0, 0).split(": ")
        ["'when' 120000 (1970-01-01T00:02:00Z) is 2m 0s after the time it was read (1970-01-01T00:00:00Z)",
         'at most 1m 0s ahead is accepted (SKEW)']
        """
        if when_ms > now_ms + self.max_skew_ms:
            return (f"'when' {when!r} ({_iso(when_ms)}) is {_span(when_ms - now_ms)} after the time it was read "
                    f"({_iso(now_ms)}): at most {_span(self.max_skew_ms)} ahead is accepted ({self.settings[1]})")
        if when_ms < now_ms - self.max_age_ms:
            return (f"'when' {when!r} ({_iso(when_ms)}) is {_span(now_ms - when_ms)} before the time it was read "
                    f"({_iso(now_ms)}): at most {_span(self.max_age_ms)} back is accepted ({self.settings[0]})")
        return None


def _iso(ms: float) -> str:
    return (dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=int(ms))).isoformat(timespec="seconds") + "Z"


def _span(ms: float) -> str:
    """A duration as days, hours, minutes and seconds (the largest two parts that are not zero)."""
    seconds = int(ms // 1000)
    parts = [(seconds // 86_400, "d"), (seconds // 3600 % 24, "h"), (seconds // 60 % 60, "m"), (seconds % 60, "s")]
    first = next((i for i, (n, _) in enumerate(parts) if n), len(parts) - 1)
    return " ".join(f"{n}{unit}" for n, unit in parts[first:first + 2])


#: The range pandas' nanosecond timestamps cover, in ms: beyond it ``pd.to_datetime`` gives NaT.
_NS_LIMIT_MS = np.iinfo(np.int64).max // 1_000_000 - 1


def _numbers(numbers: list[Any]) -> FloatArray:
    """Epoch ms numbers as floats (NaN if not a number); an integer beyond any float (JSON sets no limit) is NaN."""
    if set(map(type, numbers)) <= {int, float}:  # JSON numbers: one numpy call
        try:
            return np.array(numbers, dtype=np.float64)
        except OverflowError:  # an integer beyond any float: below, one by one
            pass
    try:
        return pd.to_numeric(pd.Series(numbers, dtype=object), errors="coerce").to_numpy(dtype=float)
    except OverflowError:  # only then one by one
        return np.array([_float(v) for v in numbers])


def _float(value: Any) -> float:
    try:
        return float(value)
    except (OverflowError, TypeError, ValueError):
        return np.nan


#: ISO-8601 text that ends in a UTC offset after its time (``Z``, ``+02:00``, ``-0530``, ``+02``).
_OFFSET = re.compile(r"\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$")


def _pandas_ms(text: list[str]) -> FloatArray:
    """Epoch ms of ISO-8601 text, naive or with an offset, NaN where it is not that.

    Naive text and text with an offset are read apart: in one ``pd.to_datetime(format="ISO8601", utc=True)``
    call, pandas (2.x) reads naive text that follows text with an offset as if it carried that offset, so
    MLRun's UTC text after a ``+02:00`` value of the same record would land two hours early.

    >>> _pandas_ms(["2024-03-01T14:00:00+02:00", "2024-03-01 12:00:00"]).tolist() == [1_709_294_400_000.0] * 2
    True
    """
    series = pd.Series(text, dtype=object)
    aware = np.fromiter((_OFFSET.search(v) is not None for v in text), dtype=bool, count=len(text))
    out = np.full(len(text), np.nan)
    for group in (aware, ~aware) if aware.any() and not aware.all() else (slice(None),):
        parsed = pd.to_datetime(series[group], utc=True, format="ISO8601", errors="coerce")
        ns = parsed.to_numpy(dtype="datetime64[ns]").astype("int64")
        out[group] = np.where(parsed.isna().to_numpy(), np.nan, ns // 1_000_000)
    for i in np.flatnonzero(np.isnan(out)):  # pandas stops at 2262: name a later date as the date it is
        out[i] = _iso_ms(text[i])
    return out


def _iso_ms(text: str) -> float:
    """Epoch ms of one ISO-8601 text (naive = UTC) by the standard library, NaN if it is not one."""
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return np.nan
    when = when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)
    return float((when - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(milliseconds=1))


def _all_dated(text: list[str]) -> bool:
    """Whether every text starts with ``YYYY-`` (ASCII digits), checked on the bytes in one numpy pass: numpy's
    date parser also reads ``now``, ``today`` and a bare year, which are no event times."""
    try:
        raw = np.array(text, dtype=np.bytes_)
    except UnicodeEncodeError:  # not ASCII: no text numpy reads as a date
        return False
    if raw.dtype.itemsize < 5:
        return False
    head = raw.view(np.uint8).reshape(len(text), raw.dtype.itemsize)[:, :5]
    digits = head[:, :4]
    return bool(((digits >= ord("0")) & (digits <= ord("9"))).all() and (head[:, 4] == ord("-")).all())


def _naive_iso_ms(text: list[str]) -> FloatArray | None:
    """Epoch ms of naive ISO-8601 text (MLRun's ``str(datetime)``) in one numpy cast, ~10x faster than
    pandas; ``None`` (then pandas reads them all) if any value is not that: an offset, ``NaT``, out of range."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # numpy only warns about offsets it would apply
            parsed = np.array(text, dtype="datetime64[us]")
    except (ValueError, TypeError, OverflowError, DeprecationWarning, UserWarning):
        return None
    if np.isnat(parsed).any():
        return None
    ms = parsed.astype(np.int64) // 1_000
    if np.abs(ms).max() >= _NS_LIMIT_MS:
        return None
    return ms.astype(np.float64)
