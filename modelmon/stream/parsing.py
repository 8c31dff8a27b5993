"""Reading one tracking record into columns, rejecting bad requests one by one.

A record is decoded once (orjson; the standard library only as a fallback that still reads NaN so the request
carrying it can be rejected alone), with the cyclic collector paused
(:func:`modelmon.core.collector.collector_paused`). A batched record that is well formed and all numeric takes
the fast path: its ``values`` are transposed into columns in one call, each column's types checked as a set
and its numbers read by numpy in one call, with no Python loop per request. Anything else goes through
:func:`modelmon.events.parse_tracking`, request by request, so a bad request is rejected with its reason and
the valid requests of the same record are kept.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import operator
import re
import struct
from itertools import chain, repeat
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import orjson

from modelmon.core.arrays import FloatArray, IntArray
from modelmon.core.collector import collector_paused
from modelmon.core.errors import InvalidEvent
from modelmon.core.paths import check_name
from modelmon.events import TrackingEvent, encode, parse_tracking
from modelmon.stream.record import RawRecord
from modelmon.stream.times import TimeBounds, when_to_ms
from modelmon.stream.values import request_problem

_BATCH_FIELDS = ("headers", "values")
#: What a producer's ``record_id`` may look like (it becomes a batch id: a TSDB label, a file's key).
_RECORD_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


@dataclasses.dataclass(frozen=True)
class Rejection:
    """A request (or a whole record) that cannot be ingested, with the bytes to dead-letter."""

    reason: str
    payload: bytes


@dataclasses.dataclass
class ParsedRecord:
    """A record's valid requests as columns (``event``), plus what was rejected and why.

    ``features``/``outputs`` are float arrays of all rows when the fast path validated them, with
    ``row_counts`` (rows per request) and ``latency_us`` (per request) beside them, else ``None`` (the store
    step builds the rows after checking widths against the endpoint).
    """

    record: RawRecord
    data: dict[str, Any] | None
    event: TrackingEvent | None
    when_ms: FloatArray
    positions: list[int | None]  # per kept request: its index in ``values`` (None: a single-shape record)
    rejections: list[Rejection]
    features: FloatArray | None = None
    outputs: FloatArray | None = None
    row_counts: IntArray | None = None
    latency_us: FloatArray | None = None

    def payload(self, i: int) -> bytes:
        """The body of kept request ``i`` alone, to dead-letter it without the rest of the record."""
        position = self.positions[i]
        if position is None:
            return self.record.body_bytes()
        data = self.data if self.data is not None else _decode(self.record)  # released: read the body again
        return _single_body(data, position)

    def release(self) -> None:
        """Drop the decoded body and the requests' input and output values, once the rows are built from them.

        They are most of a record's objects (a thousand requests of twenty features: ~28,000), and freeing
        them right after the rows are built, while they are still in the CPU's caches, took a third of the
        time freeing them after the record was stored did. What is left (ids, times, metadata, the arrays)
        is enough to store the rows; :meth:`payload` reads the body again if a request is rejected after.
        """
        self.data = None
        if self.event is not None and (self.event.inputs or self.event.outputs):
            self.event = dataclasses.replace(self.event, inputs=[], outputs=[])


def parse_record(record: RawRecord, project: str, bounds: TimeBounds | None = None,
                 now_ms: int | None = None) -> ParsedRecord:
    """Read ``record``; never raises :class:`InvalidEvent` (bad parts become rejections).

    With ``bounds``, a request whose time is outside them as of ``now_ms`` is rejected too.
    """
    with collector_paused():
        return _parse_record(record, project, bounds, now_ms)


def _parse_record(record: RawRecord, project: str, bounds: TimeBounds | None, now_ms: int | None) -> ParsedRecord:
    try:
        data = _decode(record)
    except InvalidEvent as exc:
        return _rejected(record, exc.reason)
    record_id = data.get("record_id")
    if record_id is not None:
        if not isinstance(record_id, str) or not _RECORD_ID.fullmatch(record_id):
            return _rejected(record, f"record_id {record_id!r} must be 1-64 letters, digits, '_', '.', ':', '-'")
        record = dataclasses.replace(record, record_id=record_id)
    try:
        fast = None if _may_hold_booleans(record) else _fast_path(data, project)
    except InvalidEvent as exc:  # metadata is bad: nothing in the record is usable
        return _rejected(record, exc.reason)
    if fast is not None:
        event = fast.event
        positions: list[int | None] = list(range(len(event)))
        parsed = ParsedRecord(record, data, event, when_to_ms(event.when), positions, [], fast.features,
                              fast.outputs, fast.row_counts, fast.latency_us)
    else:
        parsed = _drop_bad_values(_checked_path(record, data, project))
    if parsed.event is not None:
        try:
            check_name(parsed.event.endpoint_id, "endpoint id")  # it names files and keys
        except ValueError as exc:
            return _rejected(record, str(exc))
    return _drop_bad_times(parsed, bounds, now_ms)


def _decode(record: RawRecord) -> dict[str, Any]:
    body = record.body
    if isinstance(body, str):
        body = body.encode("utf-8")
    if isinstance(body, bytes | bytearray):
        try:
            body = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            if "depth limit" in str(exc):  # no tracking record nests that deep; the stdlib would recurse
                raise InvalidEvent(f"body is not a tracking record: JSON nested too deep ({exc})") from None
            body = _decode_leniently(bytes(body))
    if not isinstance(body, dict):
        raise InvalidEvent(f"body is a JSON {type(body).__name__}, expected an object")
    return body


#: A JSON escape of a UTF-16 surrogate: valid in a pair (one character), not alone.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _decode_leniently(body: bytes) -> Any:
    """What orjson refused, read by the standard library, which also reads NaN/Infinity and integers past
    64 bits: only the requests carrying them are rejected. Text with a lone surrogate (an escape such as
    ``"\\ud800"`` alone) is no Unicode text, which no store writes: the record is rejected, as orjson does.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidEvent("body is not UTF-8 text") from None
    try:
        data = json.loads(text)
        if _SURROGATE_ESCAPE.search(text):
            json.dumps(data, ensure_ascii=False).encode("utf-8")  # raises on a lone surrogate only
    except RecursionError:
        raise InvalidEvent("body is not a tracking record: JSON nested too deep") from None
    except UnicodeEncodeError as exc:
        raise InvalidEvent(f"body is not a tracking record: text with a lone surrogate "
                           f"({exc.object[exc.start:exc.end]!r} is not Unicode)") from None
    except ValueError as exc:
        raise InvalidEvent(f"body is not valid JSON: {exc}") from None
    return data


def _may_hold_booleans(record: RawRecord) -> bool:
    """Whether the body may contain JSON booleans, which numpy would silently read as 0/1.

    The same answer as ``b"true" in body or b"false" in body``, in numpy passes over the bytes read as 4-byte
    words at each of the 4 offsets: ``true`` is one word, ``false`` the word ``fals`` then an ``e``. Whole
    words compared, and positions taken only of the rare ``fals``, cost two thirds of finding every ``u`` and
    ``s`` byte and checking their neighbours (the positions of a byte found in every request's keys).
    """
    body = record.body
    if isinstance(body, str):
        return "true" in body or "false" in body
    if not isinstance(body, bytes | bytearray) or len(body) < 4:
        return not isinstance(body, bytes | bytearray)
    data = np.frombuffer(body, dtype=np.uint8)
    for offset in range(4):
        words = data[offset:offset + (len(data) - offset) // 4 * 4].view(np.uint32)
        if (words == _TRUE).any():
            return True
        fals = words == _FALS
        if fals.any():
            after = np.flatnonzero(fals) * 4 + (offset + 4)  # the byte after each "fals"
            if (data[after[after < len(data)]] == _E).any():
                return True
    return False


#: "true" and "fals" as the 4-byte words they are in memory (native order, as the body's words are read),
#: and the byte value of "e"
_TRUE = np.frombuffer(b"true", dtype=np.uint32)[0]
_FALS = np.frombuffer(b"fals", dtype=np.uint32)[0]
_E = ord("e")


def _rejected(record: RawRecord, reason: str) -> ParsedRecord:
    return ParsedRecord(record, None, None, np.empty(0), [], [Rejection(reason, record.body_bytes())])


def _meta(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in _BATCH_FIELDS}


@dataclasses.dataclass(frozen=True)
class _Columns:
    """What the fast path reads from a clean record: the event and its rows as arrays."""

    event: TrackingEvent
    features: FloatArray
    outputs: FloatArray
    row_counts: IntArray
    latency_us: FloatArray


#: The columns the fast path reads, and the types each may hold (JSON gives no other number types).
_FAST_HEADERS = ("request", "resp", "when", "microsec")
_WHEN_TYPES = frozenset({str, int, float})
_NUMBER_TYPES = frozenset({int, float})
_INPUTS, _OUTPUTS = operator.itemgetter("inputs"), operator.itemgetter("outputs")


def _fast_path(data: dict[str, Any], project: str) -> _Columns | None:
    """Columns of a clean, all-numeric batched record, or ``None`` to take the checked path.

    No Python loop per request: the ``values`` rows are transposed into columns in one call, each field is
    read with ``map`` and checked by type sets, and the numbers become arrays in one numpy call each.
    """
    headers, values = data.get("headers"), data.get("values")
    if not isinstance(headers, list) or not isinstance(values, list) or not values:
        return None
    event = parse_tracking({**_meta(data), "headers": headers, "values": []}, project)  # metadata only
    if len(set(headers)) != len(headers) or not all(name in headers for name in _FAST_HEADERS):
        return None  # a name given twice: the checked path reads it as parse_tracking does
    n = len(values)
    try:
        if set(map(type, values)) != {list} or set(map(len, values)) != {len(headers)}:
            return None
        columns = dict(zip(headers, zip(*values, strict=True), strict=True))  # header -> its value in every request
        if "error" in columns and columns["error"].count(None) != n:
            return None  # an error event: the checked path stores it as one
        requests, responses = columns["request"], columns["resp"]
        inputs = list(map(_INPUTS, requests))  # TypeError/KeyError: a request/resp that is no object
        outputs = list(map(_OUTPUTS, responses))
        ids = list(map(dict.get, requests, repeat("id")))
    except (TypeError, KeyError):
        return None
    when, microsec = columns["when"], columns["microsec"]
    latency_types = set(map(type, microsec))
    if not set(map(type, when)) <= _WHEN_TYPES or not latency_types <= _NUMBER_TYPES:
        return None
    try:
        latency = np.array(microsec, dtype=np.float64)
    except OverflowError:  # an integer beyond any float
        return None
    if not (latency >= 0).all() or not np.isfinite(latency).all():  # NaN, infinite or negative: name them
        return None
    features = _numeric_rows(inputs, flat_is_column=False)
    predictions = _numeric_rows(outputs, flat_is_column=True)
    if features is None or predictions is None or not np.array_equal(features[1], predictions[1]):
        return None
    if set(map(type, ids)) != {str} or "" in ids:  # a request without its own id: the response's, as text
        ids = [_request_id(r, s) for r, s in zip(requests, responses, strict=True)]
    event.request_ids = ids
    # as parse_tracking gives them: a list of rows per request (a flat output list is one value per row)
    event.inputs = inputs if type(inputs[0][0]) is list else [[value] for value in inputs]
    event.outputs = outputs if type(outputs[0][0]) is list else predictions[2]
    event.when = list(when)
    event.microsec = list(microsec) if latency_types == {int} else list(map(int, microsec))
    event.errors = [None] * n
    return _Columns(event, features[0], predictions[0], features[1], latency)


def _numeric_rows(per_request: list[Any], flat_is_column: bool) -> tuple[FloatArray, IntArray, Any] | None:
    """All rows of all requests as one finite float matrix, the rows of each request, and (for flat lists of
    outputs) each request's rows as parse_tracking lists them; ``None`` if they are not that."""
    array: npt.NDArray[Any] | None
    counts: IntArray | None = None
    as_rows: Any = None
    packed = _packed_rows(per_request)
    if packed is not None:  # MLRun's shape: a list of rows per request
        if packed is False or not np.isfinite(packed[0]).all():
            return None
        return packed[0], packed[1], None
    if flat_is_column:
        column = _packed_column(per_request)
        if column is not None:  # one prediction per request, the common shape
            if column is False or not np.isfinite(column).all():
                return None
            # each request's outputs as parse_tracking lists them: one row of its one value
            return column, np.ones(len(per_request), dtype=np.int64), [[value] for value in per_request]
    try:
        array = np.array(per_request)  # requests × rows × values, or requests × values (flat lists)
    except (TypeError, ValueError, OverflowError):  # requests with different row counts (or ragged rows)
        array, counts = _flattened(per_request, flat_is_column)
    else:
        if 0 in array.shape:  # rows of no values (reshape cannot infer their count): the checked path names them
            return None
        if array.ndim == 3:
            counts = np.full(len(array), array.shape[1], dtype=np.int64)
            array = array.reshape(-1, array.shape[2])
        elif array.ndim == 2 and flat_is_column:
            counts = np.full(len(array), array.shape[1], dtype=np.int64)
            if array.dtype.kind in "iuf":  # [[x] for x in value] per request, from numpy in one call
                as_rows = array.reshape(len(array), -1, 1).tolist()
            array = array.reshape(-1, 1)
        elif array.ndim == 2:
            counts = np.ones(len(array), dtype=np.int64)
    if array is None or counts is None or array.ndim != 2 or 0 in array.shape or array.dtype.kind not in "iuf":
        return None  # text, booleans, None, empty or odd shapes: let the checked path name them
    if not np.isfinite(array).all():
        return None
    if flat_is_column and as_rows is None and type(per_request[0][0]) is not list:
        as_rows = [[[x] for x in value] for value in per_request]
    return array.astype(np.float64, copy=False), counts, as_rows


def _packed_rows(per_request: list[Any]) -> tuple[FloatArray, IntArray] | Literal[False] | None:
    """Requests that are each a list of rows of one width as one float matrix, and each request's row count;
    ``False`` if those rows hold anything but numbers, ``None`` for any other shape (numpy tells them).

    The values are packed as C doubles by :mod:`struct` in one call (``Struct.pack_into``), which reads each
    number with one C call and refuses text, ``None``, objects and lists: a third of the instructions numpy
    spends discovering the nested lists' shape and type (booleans, which it would read as 1 and 0, never get
    here: see :func:`_may_hold_booleans`).
    """
    if set(map(type, per_request)) != {list} or not all(per_request) or type(per_request[0][0]) is not list:
        return None
    rows = list(chain.from_iterable(per_request))
    if set(map(type, rows)) != {list}:
        return None
    widths = set(map(len, rows))
    if len(widths) != 1 or 0 in widths:
        return None
    width = widths.pop()
    packed = bytearray(8 * len(rows) * width)  # numpy reads it in place, writable
    try:
        _doubles(len(rows) * width).pack_into(packed, 0, *chain.from_iterable(rows))
    except (struct.error, TypeError, OverflowError):  # text, None, an object or a list; a number beyond floats
        return False
    array = np.frombuffer(packed, dtype=np.float64).reshape(len(rows), width)
    return array, np.fromiter(map(len, per_request), dtype=np.int64, count=len(per_request))


def _packed_column(per_request: list[Any]) -> FloatArray | Literal[False] | None:
    """Requests that are each a list of one number as one float column (packed as :func:`_packed_rows`
    packs rows); ``False`` if a value is no number, ``None`` for any other shape.

    Numpy would spend longer discovering the thousand one-element lists' shape than reading their values.
    """
    if set(map(type, per_request)) != {list} or set(map(len, per_request)) != {1}:
        return None
    packed = bytearray(8 * len(per_request))
    try:
        _doubles(len(per_request)).pack_into(packed, 0, *chain.from_iterable(per_request))
    except (struct.error, TypeError, OverflowError):  # text, None, an object or a list; a number beyond floats
        return False
    return np.frombuffer(packed, dtype=np.float64).reshape(len(per_request), 1)


@functools.lru_cache(maxsize=64)
def _doubles(count: int) -> struct.Struct:
    """The native-order layout of ``count`` doubles (numpy's float64), built once per count."""
    return struct.Struct(f"={count}d")


def _flattened(per_request: list[Any], flat_is_column: bool) -> tuple[npt.NDArray[Any] | None, IntArray | None]:
    """Requests of different row counts as one matrix of their rows, and each request's row count."""
    try:
        if all(type(v) is list and v and type(v[0]) is list for v in per_request):
            return (np.array([row for value in per_request for row in value]),
                    np.fromiter(map(len, per_request), dtype=np.int64, count=len(per_request)))
        if flat_is_column and all(type(v) is list and v and type(v[0]) is not list for v in per_request):
            return (np.array([x for value in per_request for x in value]).reshape(-1, 1),
                    np.fromiter(map(len, per_request), dtype=np.int64, count=len(per_request)))
    except (TypeError, ValueError, OverflowError):
        pass
    return None, None


def _request_id(request: dict[str, Any], response: Any) -> str | None:
    value = request.get("id") or (response.get("id") if isinstance(response, dict) else None)
    return None if value is None else str(value)


def _checked_path(record: RawRecord, data: dict[str, Any], project: str) -> ParsedRecord:
    """Every request through ``parse_tracking``; a bad one is rejected alone (per-request rejection)."""
    batched = any(f in data for f in _BATCH_FIELDS)
    try:
        event = parse_tracking(data, project)
        if not len(event):  # nothing to store, nor an event time to date the endpoint by
            return _rejected(record, "batched tracking record has no requests: 'values' is empty")
        positions: list[int | None] = list(range(len(event))) if batched else [None]
        return ParsedRecord(record, data, event, when_to_ms(event.when), positions, [])
    except InvalidEvent as exc:
        if not isinstance(data.get("headers"), list) or not isinstance(data.get("values"), list):
            return _rejected(record, exc.reason)
        try:  # the metadata alone (no model name, ...): the record, not each of its requests
            parse_tracking({**_meta(data), "headers": data["headers"], "values": []}, project)
        except InvalidEvent as envelope:
            return _rejected(record, envelope.reason)
    meta, kept, positions, rejections = _meta(data), None, [], []
    for i, row in enumerate(data["values"]):
        try:
            one = parse_tracking({**meta, "headers": data["headers"], "values": [row]}, project)
        except InvalidEvent as exc:
            reason = exc.reason.replace("values[0]", f"values[{i}]")
            rejections.append(Rejection(reason, _single_body(data, i)))
            continue
        kept = one if kept is None else _extend(kept, one)
        positions.append(i)
    when = when_to_ms(kept.when) if kept is not None else np.empty(0)
    return ParsedRecord(record, data, kept, when, positions, rejections)


def _single_body(data: dict[str, Any], position: int) -> bytes:
    """A record holding only request ``position``, replayable as is.

    Its ``record_id`` (if the record had one) is derived from the record's and the position: a replay
    is not a copy of the record it came from (which was counted), but replaying it twice counts once.
    """
    body = {**_meta(data), "headers": data.get("headers"), "values": [data["values"][position]]}
    record_id = body.pop("record_id", None)
    if isinstance(record_id, str) and _RECORD_ID.fullmatch(derived := f"{record_id}.{position}"):
        body["record_id"] = derived
    try:
        return encode(body)
    except ValueError:  # the request carries NaN/inf (why it is rejected): keep them as the sender wrote them
        return json.dumps(body, separators=(",", ":")).encode("utf-8")


def _extend(event: TrackingEvent, other: TrackingEvent) -> TrackingEvent:
    for field in ("request_ids", "inputs", "outputs", "when", "microsec", "errors"):
        getattr(event, field).extend(getattr(other, field))
    return event


def _drop_bad_values(parsed: ParsedRecord) -> ParsedRecord:
    """Reject the requests holding an object or list value that cannot be stored (:mod:`.values`)."""
    event, bad = parsed.event, []
    for i in range(0 if event is None else len(event)):
        assert event is not None
        reason = request_problem(event.inputs[i], "request.inputs") or request_problem(event.outputs[i],
                                                                                       "resp.outputs")
        if reason is not None:
            parsed.rejections.append(Rejection(f"request {event.request_ids[i]!r}: {reason}", parsed.payload(i)))
            bad.append(i)
    return keep_requests(parsed, np.setdiff1d(np.arange(len(parsed.positions)), bad)) if bad else parsed


def _drop_bad_times(parsed: ParsedRecord, bounds: TimeBounds | None, now_ms: int | None) -> ParsedRecord:
    """Reject the requests whose ``when`` is not a readable time, or is outside ``bounds`` at ``now_ms``."""
    when = parsed.when_ms
    bad = np.isnan(when)
    if bounds is not None and now_ms is not None:
        with np.errstate(invalid="ignore"):
            bad |= (when > now_ms + bounds.max_skew_ms) | (when < now_ms - bounds.max_age_ms)
    if parsed.event is None or not bad.any():
        return parsed
    event = parsed.event
    for i in np.flatnonzero(bad):
        why: str | None
        if np.isnan(when[i]):
            why = (f"'when' {event.when[i]!r} is not a timestamp (epoch milliseconds, or ISO-8601 text, "
                   "in the years 1-9999)")
        else:
            assert bounds is not None and now_ms is not None
            why = bounds.reason(event.when[i], when[i], now_ms)
        parsed.rejections.append(Rejection(f"request {event.request_ids[i]!r}: {why}", parsed.payload(i)))
    return keep_requests(parsed, np.flatnonzero(~bad))


def keep_requests(parsed: ParsedRecord, keep: npt.NDArray[np.intp]) -> ParsedRecord:
    """``parsed`` with only the requests at positions ``keep`` (the fast path's row arrays sliced alike)."""
    event: TrackingEvent | None = None
    if len(keep) and parsed.event is not None:
        columns: dict[str, Any] = {
            field: [getattr(parsed.event, field)[i] for i in keep]
            for field in ("request_ids", "inputs", "outputs", "when", "microsec", "errors")
        }
        event = dataclasses.replace(parsed.event, **columns)
    arrays: dict[str, Any] = {"features": None, "outputs": None, "row_counts": None, "latency_us": None}
    if parsed.features is not None and parsed.outputs is not None and parsed.row_counts is not None:
        kept = np.zeros(len(parsed.row_counts), dtype=bool)
        kept[keep] = True
        rows = np.repeat(kept, parsed.row_counts)
        arrays = {"features": parsed.features[rows], "outputs": parsed.outputs[rows],
                  "row_counts": parsed.row_counts[keep],
                  "latency_us": None if parsed.latency_us is None else parsed.latency_us[keep]}
    return dataclasses.replace(parsed, event=event, when_ms=parsed.when_ms[keep],
                               positions=[parsed.positions[i] for i in keep], **arrays)
