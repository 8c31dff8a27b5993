"""What the two SQL implementations of the ``TSDB`` role (SQLite in ``local``, PostgreSQL in ``postgres``)
share: the checks of a write's frame and of a read's aggregation, and quoting a name as an SQL identifier.
Each dialect's statements stay in its own module."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy.typing as npt
import pandas as pd

from modelmon.backends.base import AGGREGATORS


def check_table(table: str) -> None:
    if not isinstance(table, str) or not table:
        raise ValueError(f"TSDB table must be a non-empty string, not {table!r}")


def quote(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    if "\0" in name:
        raise ValueError(f"bad column name {name!r}")
    return '"' + name.replace('"', '""') + '"'


def check_frame(table: str, df: pd.DataFrame, labels: list[str]) -> dict[str, npt.NDArray[Any]]:
    """Check the frame's columns and types; its columns as arrays: ``time``, the labels, then the value columns.

    Each column is taken once, as an array: writes are often small and many (the writer's, one per window),
    and pandas' per-column and sub-frame operations cost more than the rows."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"TSDB {table!r}: expected a DataFrame, not {type(df).__name__}")
    series = dict(df.items())
    if "time" not in series:
        raise ValueError(f"TSDB {table!r}: the frame has no 'time' column (int epoch ms)")
    arrays = {"time": series["time"].to_numpy()}
    for label in labels:
        if not isinstance(label, str) or label == "time" or not label:
            raise ValueError(f"TSDB {table!r}: bad label name {label!r}")
        if label not in series:
            raise ValueError(f"TSDB {table!r}: label column {label!r} is missing from the frame")
        arrays[label] = series[label].to_numpy()
        if pd.isna(arrays[label]).any():
            raise ValueError(f"TSDB {table!r}: label column {label!r} has missing values")
    for column, values in series.items():
        if column == "time" or column in labels:
            continue
        if not isinstance(column, str) or not column:
            raise ValueError(f"TSDB {table!r}: bad column name {column!r}")
        arrays[column] = values.to_numpy()
        if not (pd.api.types.is_numeric_dtype(values.dtype) or pd.isna(arrays[column]).all()):
            raise ValueError(f"TSDB {table!r}: column {column!r} must be numeric, not {values.dtype}")
    if not pd.api.types.is_integer_dtype(series["time"].dtype):
        raise ValueError(f"TSDB {table!r}: 'time' must be int epoch milliseconds, not {series['time'].dtype}")
    return arrays


def check_aggregation(table: str, step: int | None, aggregators: Sequence[str]) -> list[str]:
    """The aggregators as a list, after checking them and ``step`` (a step needs aggregators)."""
    aggregators = [aggregators] if isinstance(aggregators, str) else list(aggregators)
    for agg in aggregators:
        if agg not in AGGREGATORS:
            raise ValueError(f"TSDB {table!r}: unknown aggregator {agg!r}; use {', '.join(AGGREGATORS)}")
    if step is not None:
        if not isinstance(step, int) or isinstance(step, bool) or step < 1:
            raise ValueError(f"TSDB {table!r}: step must be a whole number of ms >= 1, not {step!r}")
        if not aggregators:
            raise ValueError(f"TSDB {table!r}: a step needs aggregators ({', '.join(AGGREGATORS)})")
    return aggregators
