"""Vectorised conversion of tracking ``when`` values to epoch milliseconds."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd


def when_to_ms(values: Sequence[Any]) -> np.ndarray:
    """Epoch ms (float64, NaN where unreadable) for every ``when`` of a record, vectorised.

    Numbers are epoch milliseconds; text is ISO-8601 (MLRun writes ``str(datetime)``), naive text
    being UTC, as :func:`modelmon.core.timeutil.to_ms` reads them.

    >>> when_to_ms(["1970-01-01 00:00:01", 1500, "1970-01-01T00:00:02+01:00", "soon"]).tolist()
    [1000.0, 1500.0, -3598000.0, nan]
    """
    out = np.full(len(values), np.nan)
    is_text = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=len(values))
    if is_text.any():
        text = [v for v, t in zip(values, is_text, strict=True) if t]
        ms = _naive_iso_ms(text) if all(v[:4].isdigit() and v[4:5] == "-" for v in text) else None
        out[is_text] = _pandas_ms(text) if ms is None else ms
    if not is_text.all():
        numbers = [v for v, t in zip(values, is_text, strict=True) if not t]
        out[~is_text] = pd.to_numeric(pd.Series(numbers, dtype=object), errors="coerce").to_numpy(dtype=float)
    out[~np.isfinite(out)] = np.nan
    return np.floor(out)


#: The range pandas' nanosecond timestamps cover, in ms: beyond it ``pd.to_datetime`` gives NaT.
_NS_LIMIT_MS = np.iinfo(np.int64).max // 1_000_000 - 1


def _pandas_ms(text: list[str]) -> np.ndarray:
    parsed = pd.to_datetime(pd.Series(text, dtype=object), utc=True, format="ISO8601", errors="coerce")
    ns = parsed.to_numpy(dtype="datetime64[ns]").astype("int64")
    return np.where(parsed.isna().to_numpy(), np.nan, ns // 1_000_000)


def _naive_iso_ms(text: list[str]) -> np.ndarray | None:
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
