"""Ground-truth labels messages: ``kind: "labels"`` on ``ProjectPaths.labels_stream``.

``{kind, schema, endpoint_id, label_names: [..], request_ids: [..], values: [[..], ..] (one row per
request, in label_names order), logged_ms: [..], prediction_ms: [..] | null}``. ``prediction_ms`` are
optional hints of when the labelled predictions were made (they narrow the search for them).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from modelmon.core.errors import InvalidEvent
from modelmon.events.envelope import Body, MessageKind, check_envelope, decode_json, encode, envelope, require

_KIND = MessageKind.LABELS


@dataclasses.dataclass(frozen=True)
class LabelsEvent:
    endpoint_id: str
    label_names: list[str]
    request_ids: list[str]
    values: list[list[Any]]
    logged_ms: list[int]
    prediction_ms: list[int] | None = None

    def __len__(self) -> int:
        return len(self.request_ids)

    def to_body(self) -> bytes:
        return encode({**envelope(_KIND), **dataclasses.asdict(self)})

    @classmethod
    def from_body(cls, body: Body) -> LabelsEvent:
        """Read a labels message, or raise :class:`InvalidEvent` naming what is wrong."""
        data = decode_json(body, _KIND)
        check_envelope(data, _KIND)
        endpoint_id = require(data, "endpoint_id", str, _KIND)
        names = require(data, "label_names", list, _KIND)
        ids = require(data, "request_ids", list, _KIND)
        values = require(data, "values", list, _KIND)
        logged = require(data, "logged_ms", list, _KIND)
        hints = data.get("prediction_ms")
        if not names or not all(isinstance(n, str) and n for n in names):
            raise InvalidEvent("labels message: 'label_names' must be a non-empty list of names", kind=_KIND)
        if not all(isinstance(i, str) and i for i in ids):
            raise InvalidEvent("labels message: 'request_ids' must be non-empty strings", kind=_KIND)
        columns = [("values", values), ("logged_ms", logged)] + ([("prediction_ms", hints)] if hints else [])
        for field, column in columns:
            if not isinstance(column, list) or len(column) != len(ids):
                raise InvalidEvent(f"labels message: '{field}' must have one entry per request id", kind=_KIND)
        for row in values:
            if not isinstance(row, list) or len(row) != len(names) or not all(_scalar(v) for v in row):
                raise InvalidEvent(f"labels message: each of 'values' must be a list of {len(names)} numbers "
                                   "or strings", kind=_KIND)
        for field, column in [("logged_ms", logged)] + ([("prediction_ms", hints)] if hints else []):
            if not all(isinstance(t, int) and not isinstance(t, bool) for t in column):
                raise InvalidEvent(f"labels message: '{field}' must be epoch milliseconds", kind=_KIND)
        return cls(endpoint_id, names, ids, values, logged, hints or None)


def _scalar(value: Any) -> bool:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return True
    return isinstance(value, int | float) and math.isfinite(value)
