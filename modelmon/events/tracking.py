"""Tracking events: what a model server reports about each request, in MLRun's serving format.

Accepted shapes (all JSON objects):

* single:  ``{class, worker, model, version, host, function_uri, request: {id, inputs}, op,
  resp: {id, model_name, model_version, outputs}, when, microsec, metrics?, labels?, endpoint_id?}``
* batched: the same metadata plus ``headers: [request, op, resp, when, microsec, metrics]`` and
  ``values: [[...], ...]`` (one list per request, in header order);
* error:   metadata plus ``request``, ``when`` and ``error`` (the model raised; no ``resp``).

modelmon's own tracking client writes the same shapes and adds ``kind``/``schema``. Columns stay
as Python lists here; the stream function turns them into arrays once per record.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import sys
from collections.abc import Sequence
from typing import Any

from modelmon.core.errors import InvalidEvent
from modelmon.events.envelope import Body, MessageKind, decode_json

_KIND = MessageKind.TRACKING
_FLOAT_MAX = sys.float_info.max
#: The longest model name, version or function URI a tracking event may carry: they name the endpoint in
#: its record and in every window event (a stream record holds at most 1 MB).
MAX_NAME_TEXT = 256


def parse_function_uri(function_uri: str, default_project: str) -> tuple[str, str, str | None, str | None]:
    """``(project, function, tag, hash)`` from ``[project/]function[:tag][@hash]``."""
    project, _, rest = function_uri.rpartition("/")
    rest, _, hash_key = rest.partition("@")
    function, _, tag = rest.partition(":")
    return project or default_project, function, tag or None, hash_key or None


def endpoint_uid(project: str, function_uri: str, model: str, version: str | None) -> str:
    """The endpoint id MLRun computes for ``model``/``version`` served by ``function_uri``.

    sha1 of ``{project}_{function}_{tag or hash or 'N/A'}_{model}_{version}``, where a model served
    without a version is ``latest`` (MLRun registers such endpoints as ``model:latest``).

    >>> endpoint_uid("p", "p/serving", "m", "1") == hashlib.sha1(b"p_serving_N/A_m_1").hexdigest()
    True
    """
    proj, function, tag, hash_key = parse_function_uri(function_uri, project)
    if not proj or not function or not model:
        raise ValueError("an endpoint id needs a project, a function and a model name")
    function_ref = f"{function}_{tag or hash_key or 'N/A'}"
    unique = f"{proj}_{function_ref}_{model}_{version or 'latest'}"
    return hashlib.sha1(unique.encode("utf-8")).hexdigest()


@dataclasses.dataclass
class TrackingEvent:
    """One tracking record: endpoint metadata plus one or more tracked requests, as columns."""

    endpoint_id: str
    function_uri: str
    model: str
    version: str | None
    model_class: str
    labels: dict[str, Any]
    request_ids: list[str | None]
    inputs: list[list[Any]]  # per request: its rows of features
    outputs: list[list[Any] | None]  # per request: its rows of predictions (None for errors)
    when: list[Any]  # per request: the start time as sent (text or epoch)
    microsec: list[int | None]
    errors: list[str | None]

    def __len__(self) -> int:
        return len(self.request_ids)


def parse_tracking(body: Body, project: str) -> TrackingEvent:
    """Read one tracking record in any MLRun serving shape, or raise :class:`InvalidEvent`."""
    data = decode_json(body, _KIND)
    if data.get("kind") not in (None, _KIND.value):
        raise InvalidEvent(f"expected a tracking event, got kind={data.get('kind')!r}", kind=_KIND)
    model = data.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidEvent("tracking event has no model name ('model')", kind=_KIND)
    function_uri = data.get("function_uri") or f"{project}/{data.get('function') or 'serving'}"
    if not isinstance(function_uri, str):
        raise InvalidEvent("tracking event field 'function_uri' must be text", kind=_KIND)
    version = data.get("version")
    version = str(version) if version not in (None, "") else None
    for field, text in (("model", model), ("function_uri", function_uri), ("version", version)):
        if text is not None and len(text) > MAX_NAME_TEXT:  # it names the endpoint in every window event
            raise InvalidEvent(f"tracking event field {field!r} is {len(text):,} characters long; at most "
                               f"{MAX_NAME_TEXT} are accepted", kind=_KIND)
    endpoint_id = data.get("endpoint_id") or endpoint_uid(project, function_uri, model, version)
    if not isinstance(endpoint_id, str):
        raise InvalidEvent("tracking event field 'endpoint_id' must be text", kind=_KIND)
    labels = data.get("labels") or {}
    if not isinstance(labels, dict):
        raise InvalidEvent("tracking event field 'labels' must be an object", kind=_KIND)
    event = TrackingEvent(
        endpoint_id=endpoint_id,
        function_uri=function_uri,
        model=model,
        version=version,
        model_class=str(data.get("class") or ""),
        labels=labels,
        request_ids=[],
        inputs=[],
        outputs=[],
        when=[],
        microsec=[],
        errors=[],
    )
    if "headers" in data or "values" in data:
        for i, entry in enumerate(_batched_entries(data)):
            _add_request(event, entry, where=f"values[{i}]")
    else:
        _add_request(event, data, where="event")
    return event


def _batched_entries(data: dict[str, Any]) -> list[dict[str, Any]]:
    headers, values = data.get("headers"), data.get("values")
    if not isinstance(headers, list) or not all(isinstance(h, str) for h in headers):
        raise InvalidEvent("batched tracking event: 'headers' must be a list of names", kind=_KIND)
    if not isinstance(values, list):
        raise InvalidEvent("batched tracking event: 'values' must be a list", kind=_KIND)
    entries = []
    for i, row in enumerate(values):
        if not isinstance(row, list) or len(row) != len(headers):
            raise InvalidEvent(
                f"batched tracking event: values[{i}] must be a list of {len(headers)} items", kind=_KIND
            )
        entries.append(dict(zip(headers, row, strict=True)))
    return entries


def _add_request(event: TrackingEvent, entry: dict[str, Any], where: str) -> None:
    request = entry.get("request")
    if not isinstance(request, dict):
        raise InvalidEvent(f"{where}: tracking event has no 'request' object", kind=_KIND)
    inputs = _rows(request.get("inputs"), f"{where}: request.inputs")
    when = entry.get("when")
    if not isinstance(when, str | int | float) or isinstance(when, bool):
        raise InvalidEvent(f"{where}: 'when' must be a timestamp", kind=_KIND)
    error = entry.get("error")
    if error is not None:
        outputs, microsec = None, None
    else:
        resp = entry.get("resp")
        if not isinstance(resp, dict):
            raise InvalidEvent(f"{where}: tracking event has no 'resp' object", kind=_KIND)
        sent = resp.get("outputs")
        # MLRun's rule: a flat list is one output per input row only when the counts match; for one input
        # row it is that row's outputs (MLRun 1.10's LLM serving sends ``[answer, usage]`` for a prompt)
        one_row = len(inputs) == 1 and isinstance(sent, list) and len(sent) > 1 and not isinstance(sent[0], list)
        outputs = _rows([sent] if one_row else sent, f"{where}: resp.outputs", flat_is_column=True)
        if len(outputs) != len(inputs):
            raise InvalidEvent(
                f"{where}: {len(inputs)} input rows but {len(outputs)} output rows", kind=_KIND
            )
        microsec = entry.get("microsec")
        if microsec is not None and (isinstance(microsec, bool) or not isinstance(microsec, int | float)
                                     or not _is_float(microsec) or microsec < 0):
            raise InvalidEvent(f"{where}: 'microsec' must be a non-negative number", kind=_KIND)
    request_id = request.get("id") or (entry.get("resp") or {}).get("id")
    event.request_ids.append(None if request_id is None else str(request_id))
    event.inputs.append(inputs)
    event.outputs.append(outputs)
    event.when.append(when)
    event.microsec.append(None if microsec is None else int(microsec))
    event.errors.append(None if error is None else str(error))


def _rows(value: Any, where: str, flat_is_column: bool = False) -> list[list[Any]]:
    """``value`` as a list of rows. A flat list of scalars is one row of inputs, but one prediction per
    row of outputs (MLRun's convention: ``outputs: [0, 1]`` answers two input rows). A value may be an
    object or a list (an LLM's ``{"answer": ..., "usage": {...}}``): the stream function stores it as is
    (:mod:`modelmon.stream.values` bounds its size)."""
    if not isinstance(value, list) or not value:
        raise InvalidEvent(f"{where} must be a non-empty list", kind=_KIND)
    if isinstance(value[0], list):
        rows = value
    else:
        rows = [[v] for v in value] if flat_is_column else [value]
    width = len(rows[0])
    if not width:  # first on a new endpoint, a row of no values would make its width 0
        raise InvalidEvent(f"{where}: a row has 0 {'outputs' if flat_is_column else 'features'}", kind=_KIND)
    for row in rows:
        if not isinstance(row, list) or len(row) != width:
            raise InvalidEvent(f"{where}: every row must be a list of {width} values", kind=_KIND)
        for item in row:
            if isinstance(item, float) and not math.isfinite(item):
                raise InvalidEvent(f"{where}: contains a non-finite number", kind=_KIND)
            if type(item) is int and not -_FLOAT_MAX <= item <= _FLOAT_MAX:
                raise InvalidEvent(f"{where}: contains an integer too large for a float", kind=_KIND)
            if not isinstance(item, int | float | str | dict | list | None) or isinstance(item, bool):
                raise InvalidEvent(f"{where}: values must be numbers, text, objects or lists, got "
                                   f"{type(item).__name__}", kind=_KIND)
    return rows


def _is_float(number: int | float) -> bool:
    """Whether ``number`` is a finite float, or an integer one can hold (JSON integers have no limit).

    >>> _is_float(1500), _is_float(float("nan")), _is_float(10**400)
    (True, False, False)
    """
    try:
        return math.isfinite(number)
    except OverflowError:
        return False


def tracking_body(
    *,
    model: str,
    function_uri: str,
    requests: Sequence[dict[str, Any]],
    version: str | None = None,
    model_class: str = "",
    endpoint_id: str | None = None,
    labels: dict[str, Any] | None = None,
    host: str = "",
    worker: int = 0,
    record_id: str | None = None,
    sampling_percentage: float | None = None,
) -> dict[str, Any]:
    """A tracking record in MLRun's batched ``headers/values`` shape (as modelmon's client writes it).

    Each of ``requests`` has ``request``, ``resp``, ``when``, ``microsec`` (and optionally ``error``).
    ``record_id`` (unique per record, kept when the record is re-sent) lets the stream function count a
    record stored twice by a re-sent ``PutRecords`` once. ``sampling_percentage`` (below 100: the producer
    tracked that share of its requests) lets the stream function estimate the predictions the record stands
    for (``modelmon.stream.sampling``).
    """
    data: dict[str, Any] = {
        "kind": _KIND.value,
        "schema": 1,
        "class": model_class,
        "worker": worker,
        "model": model,
        "version": version,
        "host": host,
        "function_uri": function_uri,
    }
    if endpoint_id:
        data["endpoint_id"] = endpoint_id
    if labels:
        data["labels"] = labels
    if record_id:
        data["record_id"] = record_id
    if sampling_percentage is not None and sampling_percentage < 100:
        data["sampling_percentage"] = sampling_percentage
    headers = ["request", "op", "resp", "when", "microsec", "metrics", "error"]
    data["headers"] = headers
    data["values"] = [
        [r.get("request"), r.get("op", "infer"), r.get("resp"), r.get("when"), r.get("microsec"),
         r.get("metrics"), r.get("error")]
        for r in requests
    ]
    return data
