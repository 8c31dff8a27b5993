"""Vectorised conversion of tracking ``when`` values to epoch milliseconds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd


def when_to_ms(values: Sequence[Any]) -> np.ndarray:
    """Epoch ms (float64, NaN where unreadable) for every ``when`` of a record, in one pandas pass.

    Numbers are epoch milliseconds; text is ISO-8601 (MLRun writes ``str(datetime)``), naive text
    being UTC, as :func:`modelmon.timeutil.to_ms` reads them.

    >>> when_to_ms(["1970-01-01 00:00:01", 1500, "1970-01-01T00:00:02+01:00", "soon"]).tolist()
    [1000.0, 1500.0, -3598000.0, nan]
    """
    out = np.full(len(values), np.nan)
    is_text = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=len(values))
    if is_text.any():
        text = [v for v, t in zip(values, is_text, strict=True) if t]
        parsed = pd.to_datetime(pd.Series(text, dtype=object), utc=True, format="ISO8601", errors="coerce")
        ns = parsed.to_numpy(dtype="datetime64[ns]").astype("int64")
        ms = np.where(parsed.isna().to_numpy(), np.nan, ns // 1_000_000)
        out[is_text] = ms
    if not is_text.all():
        numbers = [v for v, t in zip(values, is_text, strict=True) if not t]
        out[~is_text] = pd.to_numeric(pd.Series(numbers, dtype=object), errors="coerce").to_numpy(dtype=float)
    out[~np.isfinite(out)] = np.nan
    return np.floor(out)
