"""The model-endpoint record: the shape of the one KV item each endpoint has.

The field names are the stored attribute names. Lists and dicts are stored as JSON text (V3IO KV
attributes are flat). Reading is tolerant: an attribute holding the wrong kind of value (damaged by
hand, or by an old writer) reads as absent, so one bad item cannot stop a listing or a controller run.
:class:`modelmon.endpoints.store.EndpointStore` is the only reader and writer of these items.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Collection, Mapping
from typing import Any

from modelmon.core.json_text import loads_exact
from modelmon.core.results import ResultStatusApp
from modelmon.events.tracking import parse_function_uri

_JSON_FIELDS = ("labels", "feature_names", "label_names", "feature_types", "feature_stats",
                "reference_performance")
#: The longest text one attribute holds here: V3IO stores at most 61,200 bytes per attribute (an item 1.5 MB).
MAX_ATTRIBUTE_BYTES = 60_000
#: Fields whose JSON grows with the features (about 600 bytes per feature's reference histogram): stored in
#: parts of at most ``MAX_ATTRIBUTE_BYTES`` — ``<name>`` the first, ``<name>_part_<k>`` the others, and
#: ``<name>_parts`` how many (always written, so a shorter value replaces a longer one whole).
_SPLIT_FIELDS = ("feature_stats",)


@dataclasses.dataclass
class ModelEndpoint:
    endpoint_id: str
    name: str = ""  # the model name, unless registered under another name
    project: str = ""
    function_uri: str = ""
    model: str = ""
    model_version: str = ""
    model_class: str = ""
    model_uri: str = ""
    labels: dict[str, Any] = dataclasses.field(default_factory=dict)
    feature_names: list[str] = dataclasses.field(default_factory=list)
    label_names: list[str] = dataclasses.field(default_factory=list)
    #: "number" or "text" per feature, kept from the reference or the first record (endpoints.feature_types)
    feature_types: dict[str, str] = dataclasses.field(default_factory=dict)
    feature_stats: dict[str, Any] = dataclasses.field(default_factory=dict)
    reference_performance: dict[str, Any] = dataclasses.field(default_factory=dict)
    first_request_ms: int | None = None
    last_request_ms: int | None = None
    #: event time up to which this endpoint's samples are durably stored (exclusive)
    watermark_ms: int | None = None
    request_count: int = 0
    error_count: int = 0
    latency_sum_us: float = 0.0
    #: the predictions the tracked requests stand for, MLRun's ``estimated_prediction_count`` (sampled
    #: traffic counts ``100 / sampling_percentage`` per row; see ``modelmon.stream.sampling``); counted since
    #: modelmon kept it, so an older endpoint's is below its requests
    estimated_prediction_count: float = 0.0
    drift_status: int = int(ResultStatusApp.irrelevant)
    created_ms: int | None = None
    #: traffic in [skipped_from_ms, skipped_until_ms) is older than where analysis started (the backfill
    #: horizon): no app analysed it; ``modelmon backfill`` does (None: nothing skipped)
    skipped_from_ms: int | None = None
    skipped_until_ms: int | None = None
    registered: bool = False

    @property
    def function_name(self) -> str:
        """The serving function, MLRun 1.8+'s ``spec.function_name`` (from ``function_uri``)."""
        return parse_function_uri(self.function_uri, self.project)[1]

    @property
    def function_tag(self) -> str:
        """The function's tag, MLRun 1.8+'s ``spec.function_tag`` (``latest`` when ``function_uri`` has none)."""
        return parse_function_uri(self.function_uri, self.project)[2] or "latest"

    @property
    def latency_avg_us(self) -> float | None:
        return self.latency_sum_us / self.request_count if self.request_count else None

    def to_item(self) -> dict[str, Any]:
        """The stored attributes: the fields, plus the MLRun attributes its Grafana dashboards read."""
        item = to_attributes(dataclasses.asdict(self))
        item.update(mlrun_identity(self.endpoint_id))
        if self.first_request_ms is not None and self.last_request_ms is not None:
            item.update(mlrun_times(self.first_request_ms, self.last_request_ms))
        return item

    @classmethod
    def from_item(cls, item: Mapping[str, Any], skip: Collection[str] = (), key: str | None = None) -> ModelEndpoint:
        """The record stored as ``item`` (under ``key``, which wins over the item's ``endpoint_id``).

        Damaged attributes and the fields in ``skip`` keep their defaults.
        """
        values: dict[str, Any] = {} if key is None else {"endpoint_id": key}
        for name, kinds in _KINDS.items():
            value = item.get(name)
            if value is None or name in skip or name in values:
                continue
            if name in _JSON_FIELDS and isinstance(value, str):
                if name in _SPLIT_FIELDS:
                    value = _joined(item, name, value)
                try:
                    value = loads_exact(value)  # an app decodes the record for every window: orjson
                except ValueError:
                    continue
            if name == DRIFT_STATUS:
                value = drift_status_value(value)
            if isinstance(value, kinds) and (bool in kinds or not isinstance(value, bool)):
                values[name] = value
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for the CLI and SDK), with the average latency."""
        return {**dataclasses.asdict(self), "latency_avg_us": self.latency_avg_us}


#: MLRun's names of the endpoint's id and kind (``EndpointType.NODE_EP``: no router) in the KV item.
MLRUN_UID = "uid"
MLRUN_ENDPOINT_TYPE = "endpoint_type"
NODE_ENDPOINT = 1
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def mlrun_identity(endpoint_id: str) -> dict[str, Any]:
    """MLRun's ``uid`` and ``endpoint_type`` attributes of an endpoint (Grafana lists endpoints by ``uid``)."""
    return {MLRUN_UID: endpoint_id, MLRUN_ENDPOINT_TYPE: NODE_ENDPOINT}


def mlrun_time(ms: int) -> str:
    """An event time as MLRun's serving writes ``when`` and its stream stores ``first_request``/``last_request``.

    >>> mlrun_time(1_700_000_000_123)
    '2023-11-14 22:13:20.123000+00:00'
    """
    when = _EPOCH + datetime.timedelta(milliseconds=ms)
    return when.isoformat(sep=" ", timespec="microseconds")


def mlrun_times(first_ms: int, last_ms: int) -> dict[str, str]:
    """MLRun's ``first_request`` and ``last_request`` attributes (text) beside modelmon's ``*_ms``."""
    return {"first_request": mlrun_time(first_ms), "last_request": mlrun_time(last_ms)}


DRIFT_STATUS = "drift_status"
#: The texts MLRun has stored as ``drift_status``: 1.6's ``DriftStatus`` names (1.7+ writes the number as text).
_DRIFT_STATUS_NAMES = {"NO_DRIFT": 0, "POSSIBLE_DRIFT": 1, "DRIFT_DETECTED": 2}


def drift_status_value(value: Any) -> int | None:
    """A stored ``drift_status`` as a number: modelmon stores one; MLRun text (``"2"``, ``"DRIFT_DETECTED"``),
    so an item MLRun's writer touched reads the same. ``None`` for anything else.

    >>> drift_status_value(2), drift_status_value("2"), drift_status_value("POSSIBLE_DRIFT"), drift_status_value("x")
    (2, 2, 1, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text in _DRIFT_STATUS_NAMES:
            return _DRIFT_STATUS_NAMES[text]
        try:
            return int(text)
        except ValueError:
            return None
    return None


#: MLRun's drift attributes of the endpoint item (JSON text), set from the histogram drift app's results.
MLRUN_DRIFT = ("drift_measures", "current_stats")


def mlrun_drift(values: Mapping[str, Any]) -> dict[str, str]:
    """The ``drift_measures`` / ``current_stats`` attributes among ``values`` (dicts, or JSON text kept as is;
    other names are left out).

    >>> mlrun_drift({"drift_measures": {"tvd_mean": 0.5}, "other": 1})
    {'drift_measures': '{"tvd_mean": 0.5}'}
    """
    return {name: v if isinstance(v, str) else json.dumps(v) for name, v in values.items() if name in MLRUN_DRIFT}


#: Attributes the stream function and writer keep for MLRun's dashboards, with their frames types.
_MLRUN_FIELDS = {MLRUN_UID: "string", MLRUN_ENDPOINT_TYPE: "long", "first_request": "string",
                 "last_request": "string", "metrics": "string", "drift_measures": "string",
                 "current_stats": "string"}
#: The store's bookkeeping attributes of fixed names (``modelmon.endpoints.store``).
_BOOKKEEPING = {"ingest_version": "long", "ingest_last_batch": "string", "batch_last_id": "string",
                "ingest_recent_records": "string", "drift_status_end_ms": "long",
                "drift_measures_end_ms": "long", **{f"{name}_parts": "long" for name in _SPLIT_FIELDS}}


def schema_fields() -> dict[str, str]:
    """Every endpoint attribute of a fixed name with its type in frames' KV schema (the ``.#schema`` file).

    Missing: ``ingest_seq_<shard>`` (one per stream shard) and a long field's ``<name>_part_<k>``, so a read
    of every attribute (no MLRun panel asks one) fails on such items; the dashboards name their fields.
    """
    kinds = {str: "string", int: "long", float: "double", bool: "boolean", dict: "string", list: "string"}
    fields = {MLRUN_UID: "string"}  # the key first
    for name, types in _KINDS.items():
        fields[name] = "double" if float in types else kinds[types[0]]
    return {**fields, **_MLRUN_FIELDS, **_BOOKKEEPING}


def to_attributes(values: Mapping[str, Any]) -> dict[str, Any]:
    """KV attributes of some fields' values: lists and dicts become JSON text, split in parts where long.

    >>> wide = to_attributes({"feature_stats": {"f": "x" * 70_000}})
    >>> sorted(wide), wide["feature_stats_parts"], len(wide["feature_stats"])
    (['feature_stats', 'feature_stats_part_1', 'feature_stats_parts'], 2, 60000)
    >>> ModelEndpoint.from_item({"endpoint_id": "e", **wide}).feature_stats["f"] == "x" * 70_000
    True
    """
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name not in _JSON_FIELDS:
            out[name] = value
            continue
        text = json.dumps(value)  # ASCII (non-ASCII escaped): one byte per character
        if name not in _SPLIT_FIELDS:
            out[name] = text
            continue
        parts = [text[i:i + MAX_ATTRIBUTE_BYTES] for i in range(0, len(text), MAX_ATTRIBUTE_BYTES)] or [text]
        out[name] = parts[0]
        out.update({f"{name}_part_{k}": part for k, part in enumerate(parts[1:], start=1)})
        out[f"{name}_parts"] = len(parts)
    return out


def _joined(item: Mapping[str, Any], name: str, first: str) -> str:
    """The whole text of split field ``name`` (an item from before the split has no ``<name>_parts``);
    a missing part makes it unreadable, so the field reads as absent."""
    count = item.get(f"{name}_parts")
    if not isinstance(count, int) or isinstance(count, bool) or count <= 1:
        return first
    rest = [item.get(f"{name}_part_{k}") for k in range(1, count)]
    texts = [p for p in rest if isinstance(p, str)]
    return first + "".join(texts) if len(texts) == len(rest) else ""


def _kinds(field: dataclasses.Field[Any]) -> tuple[type, ...]:
    """The types a stored value of ``field`` may have, told by its default (the times default to None)."""
    if field.default_factory is not dataclasses.MISSING:
        return (type(field.default_factory()),)
    if field.default is dataclasses.MISSING:
        return (str,)
    if field.default is None:
        return (int,)
    if isinstance(field.default, float):
        return (int, float)
    return (type(field.default),)


_KINDS = {field.name: _kinds(field) for field in dataclasses.fields(ModelEndpoint)}
