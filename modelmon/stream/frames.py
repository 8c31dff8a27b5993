"""Turning a record's valid requests into sample rows named after the endpoint's features and outputs.

Names come from the endpoint record; an endpoint without names gets ``f0..fn`` / ``p0..pn`` inferred
from the first request, as MLRun does. A request whose width does not match the names is rejected, and
so is one that sends text for a numeric feature (:mod:`modelmon.endpoints.feature_types`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from modelmon.core.arrays import BoolArray, FloatArray
from modelmon.endpoints.feature_types import NUMBER, TEXT, first_misfit, infer_types
from modelmon.stream.parsing import ParsedRecord, Rejection, keep_requests
from modelmon.stream.values import is_nested

#: Sample-store columns every row has besides its features and predictions (CONTRIBUTING.md).
BASE_COLUMNS = ("timestamp", "request_id", "latency_us")


def inferred_names(prefix: str, count: int) -> list[str]:
    """MLRun's default names for unnamed columns.

    >>> inferred_names("f", 3)
    ['f0', 'f1', 'f2']
    """
    return [f"{prefix}{i}" for i in range(count)]


@dataclasses.dataclass
class Rows:
    """The sample rows of one record and the per-request columns the aggregates need."""

    parsed: ParsedRecord  # only the requests that made it into rows or are error events
    samples: pd.DataFrame
    feature_names: list[str]
    label_names: list[str]
    latency_us: FloatArray  # per request (NaN when unknown or an error event)
    is_error: BoolArray  # per request
    feature_types: dict[str, str] = dataclasses.field(default_factory=dict)  # as stored (given or first seen)


def _width(rows: list[Any]) -> int:
    return len(rows[0]) if isinstance(rows[0], list) else len(rows)


def _out_width(rows: list[Any]) -> int:
    return len(rows[0]) if isinstance(rows[0], list) else 1


def build_rows(parsed: ParsedRecord, feature_names: list[str], label_names: list[str],
               feature_types: dict[str, str] | None = None) -> Rows:
    """Rows of ``parsed`` under the endpoint's names (inferred when empty) and feature types (inferred from
    this record when ``None``); requests of the wrong width or with text in a numeric feature are rejected."""
    event = parsed.event
    assert event is not None, "build_rows needs a record with requests"
    if parsed.features is not None and parsed.outputs is not None:  # the fast path: no errors, one width
        is_error = np.zeros(len(event), dtype=bool)
        in_width = np.full(len(event), parsed.features.shape[1])
        out_width = np.full(len(event), parsed.outputs.shape[1])
    else:
        is_error = np.array([e is not None for e in event.errors], dtype=bool)
        in_width = np.array([_width(i) for i in event.inputs])
        out_width = np.array([0 if o is None else _out_width(o) for o in event.outputs])
    ok = ~is_error
    if ok.any():
        first = int(np.flatnonzero(ok)[0])
        feature_names = feature_names or inferred_names("f", int(in_width[first]))
        label_names = label_names or inferred_names("p", int(out_width[first]))
    collision = set(feature_names) & (set(label_names) | set(BASE_COLUMNS)) or set(label_names) & set(BASE_COLUMNS)
    bad = ok & ((in_width != len(feature_names)) | (out_width != len(label_names)) | bool(collision))
    if bad.any():
        for i in np.flatnonzero(bad):
            reason = (f"request {event.request_ids[i]!r}: names {sorted(collision)} are used twice"
                      if collision else
                      f"request {event.request_ids[i]!r} has {in_width[i]} features and {out_width[i]} "
                      f"outputs; endpoint {event.endpoint_id} expects {len(feature_names)} and {len(label_names)}")
            parsed.rejections.append(Rejection(reason, parsed.payload(int(i))))
        parsed = keep_requests(parsed, np.flatnonzero(~bad))
        return build_rows(parsed, feature_names, label_names, feature_types) if parsed.event else _empty(parsed)
    given = {name: feature_types[name] for name in feature_names if name in feature_types} if feature_types else {}
    if parsed.features is not None and TEXT not in given.values():  # all numbers: the fast path's matrix
        return _rows(parsed, is_error, feature_names, label_names, dict.fromkeys(feature_names, NUMBER))
    good = np.flatnonzero(ok)
    if len(given) < len(set(feature_names)):  # a feature's first type is the one this record shows
        feature_types = {**infer_types([row for i in good for row in _as_rows(event.inputs[i])], feature_names),
                         **given}
    else:
        feature_types = given
    misfits = _misfits(parsed, good, feature_names, feature_types)
    if misfits:
        for i, reason in misfits.items():
            parsed.rejections.append(Rejection(reason, parsed.payload(i)))
        parsed = keep_requests(parsed, np.array([i for i in range(len(event)) if i not in misfits], dtype=np.int64))
        return build_rows(parsed, feature_names, label_names, feature_types) if parsed.event else _empty(parsed)
    return _rows(dataclasses.replace(parsed, features=None, outputs=None), is_error, feature_names, label_names,
                 feature_types)


def _misfits(parsed: ParsedRecord, good: npt.NDArray[np.intp], names: list[str],
             types: dict[str, str]) -> dict[int, str]:
    """Per request sending text for a numeric feature, why it is rejected."""
    event = parsed.event
    assert event is not None
    numeric = [j for j, name in enumerate(names) if types.get(name, NUMBER) == NUMBER]
    reasons = {}
    for i in good:
        misfit = first_misfit(_as_rows(event.inputs[i]), numeric)
        if misfit is not None:
            j, value = misfit
            reasons[int(i)] = (f"request {event.request_ids[i]!r}: feature {names[j]!r} is numeric on endpoint "
                               f"{event.endpoint_id}; got {str(value)[:100]!r}")
    return reasons


def _empty(parsed: ParsedRecord) -> Rows:
    return Rows(parsed, pd.DataFrame(), [], [], np.empty(0), np.empty(0, dtype=bool))


def _rows(parsed: ParsedRecord, is_error: BoolArray, feature_names: list[str], label_names: list[str],
          feature_types: dict[str, str]) -> Rows:
    event = parsed.event
    assert event is not None
    if parsed.latency_us is not None:
        latency = parsed.latency_us
    else:
        latency = np.array([np.nan if m is None else m for m in event.microsec], dtype=np.float64)
    good = np.flatnonzero(~is_error)
    features: FloatArray | pd.DataFrame
    outputs: FloatArray | pd.DataFrame
    if parsed.features is not None and parsed.outputs is not None and parsed.row_counts is not None:
        features, outputs, counts = parsed.features, parsed.outputs, parsed.row_counts
    else:
        inputs = [event.inputs[i] for i in good]
        rows = [row if isinstance(row, list) else [row] for i in good for row in _as_rows(event.inputs[i])]
        outs = [row for i in good for row in _as_rows(event.outputs[i], flat_is_column=True)]
        features, outputs = _matrix(rows, feature_names, feature_types), _matrix(outs, label_names)
        counts = np.array([len(_as_rows(i)) for i in inputs], dtype=np.int64)
    ids = np.array(event.request_ids, dtype=object) if len(good) == len(event) else \
        np.array([event.request_ids[i] for i in good], dtype=object)
    one_row_each = len(counts) == len(good) and bool((counts == 1).all())
    base = {
        "timestamp": parsed.when_ms[good].astype(np.int64),
        "request_id": ids,
        "latency_us": latency[good],
    }
    if not one_row_each:
        base = {name: np.repeat(column, counts) for name, column in base.items()}
    if len({*feature_names, *label_names}) == len(feature_names) + len(label_names):
        # one frame from columns: a third of the cost of concatenating frames, and cheaper to write
        samples = pd.DataFrame({**base, **_columns(features, feature_names), **_columns(outputs, label_names)},
                               copy=False)
    else:  # a name given twice (registered names): keep both columns, as concatenation does
        samples = pd.concat([pd.DataFrame(base), _frame(features, feature_names), _frame(outputs, label_names)],
                            axis=1)
    return Rows(parsed, samples, feature_names, label_names, latency, is_error, feature_types)


def _columns(values: FloatArray | pd.DataFrame, names: list[str]) -> dict[str, npt.NDArray[Any]]:
    if isinstance(values, pd.DataFrame):
        return {name: values[name].to_numpy() for name in values.columns}
    return dict(zip(names, values.T, strict=True))


def _as_rows(value: list[Any], flat_is_column: bool = False) -> list[Any]:
    if isinstance(value[0], list):
        return value
    return [[v] for v in value] if flat_is_column else [value]


def _matrix(rows: list[list[Any]], names: list[str], types: dict[str, str] | None = None) -> FloatArray | pd.DataFrame:
    """Numbers as a float matrix; text columns (by ``types``, else those holding text) as text; a column
    holding an object or a list keeps its values as sent."""
    if not rows:
        return np.empty((0, len(names)))
    if types is None or TEXT not in types.values():
        try:
            return np.array(rows, dtype=np.float64)
        except (TypeError, ValueError):
            pass
    frame = pd.DataFrame(rows, columns=names)
    columns = []
    for j, name in enumerate(names):
        column = frame.iloc[:, j]
        if column.map(is_nested).any():  # objects and lists stay as sent (modelmon.stream.values)
            columns.append(column)
            continue
        text = types[name] == TEXT if types is not None and name in types else \
            column.map(lambda v: isinstance(v, str)).any()
        columns.append(column.map(lambda v: v if v is None or isinstance(v, str) else str(v)) if text
                       else column.astype(np.float64))
    out = pd.concat(columns, axis=1)
    out.columns = names  # a name given twice keeps both columns
    return out


def _frame(values: FloatArray | pd.DataFrame, names: list[str]) -> pd.DataFrame:
    if isinstance(values, pd.DataFrame):
        return values.reset_index(drop=True)
    return pd.DataFrame(values, columns=names)
