"""The sample store's layout, shared by every backend: ``<endpoint>/hour=YYYYMMDDHH/<batch file>``."""

from __future__ import annotations

import datetime as dt
import hashlib

import pandas as pd

HOUR_MS = 3_600_000
HOUR_DIR_PREFIX = "hour="


def timestamps_ms(endpoint_id: str, column: pd.Series) -> pd.Series:
    """The `timestamp` column as int64 epoch milliseconds, or a ValueError naming the endpoint."""
    if pd.api.types.is_datetime64_any_dtype(column):
        if getattr(column.dt, "tz", None) is not None:
            column = column.dt.tz_convert("UTC").dt.tz_localize(None)
        return column.astype("datetime64[ms]").astype("int64")
    if pd.api.types.is_integer_dtype(column) and not column.isna().any():
        return column.astype("int64")
    raise ValueError(
        f"samples of {endpoint_id!r}: 'timestamp' must hold int epoch milliseconds or datetimes, "
        f"not {column.dtype}{' with missing values' if column.isna().any() else ''}"
    )


def batch_file_name(batch_id: str) -> str:
    """A file name for ``batch_id``: safe whatever the id holds, and the same for the same id."""
    return hashlib.sha1(batch_id.encode()).hexdigest()[:24] + ".parquet"


def hour_dir(hour: int) -> str:
    return HOUR_DIR_PREFIX + dt.datetime.fromtimestamp(hour * 3600, dt.UTC).strftime("%Y%m%d%H")


def parse_hour_dir(name: str) -> int | None:
    if not name.startswith(HOUR_DIR_PREFIX):
        return None
    try:
        moment = dt.datetime.strptime(name[len(HOUR_DIR_PREFIX):], "%Y%m%d%H").replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    return int(moment.timestamp()) // 3600
