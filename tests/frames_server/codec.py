"""Frames' protobuf ``Frame`` ⇄ plain Python rows, the way framesd and ``v3io_frames.pbutils`` lay them out.

A frame holds SLICE columns (one value per row), LABEL columns (one value, repeated ``size`` times),
index columns, frame-wide ``labels`` and per-row ``null_values``. Times are int64 nanoseconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from v3io_frames import frames_pb2 as fpb

_VALUES = {fpb.INTEGER: "ints", fpb.FLOAT: "floats", fpb.STRING: "strings", fpb.TIME: "times", fpb.BOOLEAN: "bools"}


def column_values(column: fpb.Column, rows: int) -> list[Any]:
    """The column's values, one per row (a LABEL column repeats its single value)."""
    if column.dtype == fpb.NULL:
        return [None] * rows
    field = _VALUES.get(column.dtype)
    if field is None:
        raise ValueError(f"column {column.name!r}: unsupported dtype {column.dtype}")
    values = list(getattr(column, field))
    if column.kind == fpb.Column.LABEL:
        return values[:1] * (column.size or rows)
    return values


def frame_rows(frame: fpb.Frame) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows as dicts (indices, columns and frame labels merged; nulls as None) and the index names."""
    slices = [c for c in list(frame.columns) + list(frame.indices) if c.kind == fpb.Column.SLICE]
    rows = max((len(getattr(c, _VALUES.get(c.dtype, "ints"))) for c in slices), default=0)
    if not slices:
        rows = max((c.size for c in frame.columns), default=0)
    names = [c.name for c in frame.indices]
    data = {c.name: column_values(c, rows) for c in list(frame.indices) + list(frame.columns)}
    shared = {name: getattr(value, value.WhichOneof("value")) for name, value in frame.labels.items()}
    out = []
    for i in range(rows):
        row = dict(shared)
        row.update({name: values[i] for name, values in data.items()})
        if i < len(frame.null_values):
            for name in frame.null_values[i].nullColumns:
                row[name] = None
        out.append(row)
    return out, names


def float_column(name: str, values: Sequence[float | None]) -> fpb.Column:
    """A FLOAT slice; missing values travel as NaN, which pandas reads back as missing."""
    return fpb.Column(kind=fpb.Column.SLICE, name=name, dtype=fpb.FLOAT,
                      floats=[math.nan if v is None else float(v) for v in values])


def time_column(name: str, times_ns: Sequence[int]) -> fpb.Column:
    return fpb.Column(kind=fpb.Column.SLICE, name=name, dtype=fpb.TIME, times=list(times_ns))


def string_column(name: str, values: Sequence[str]) -> fpb.Column:
    return fpb.Column(kind=fpb.Column.SLICE, name=name, dtype=fpb.STRING, strings=list(values))


def label_column(name: str, value: str, size: int) -> fpb.Column:
    return fpb.Column(kind=fpb.Column.LABEL, name=name, dtype=fpb.STRING, strings=[value], size=size)
