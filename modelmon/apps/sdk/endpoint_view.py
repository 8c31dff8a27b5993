"""``monitoring_context.model_endpoint``: MLRun's ``ModelEndpoint`` object, and modelmon's endpoint record.

MLRun apps read ``model_endpoint.metadata.name``, ``.spec.feature_names``, ``.status.last_request``…
(MLRun 1.8's schema, with the 1.7 names that moved kept where they were: ``spec.model``,
``status.drift_status``, ``status.feature_stats``). modelmon apps read the flat record as a dict
(``model_endpoint["reference_performance"]``): the object is also that record's ``dict``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from typing import Any

from modelmon.core.timeutil import from_ms


class EndpointType(enum.IntEnum):
    """MLRun's endpoint types (``model_endpoint.metadata.endpoint_type``)."""

    NODE_EP = 1
    ROUTER = 2
    LEAF_EP = 3
    BATCH_EP = 4


#: MLRun 1.7's ``status.drift_status`` text for each result status (1.8 has the number as ``result_status``).
_DRIFT_STATUS = {2: "DRIFT_DETECTED", 1: "POSSIBLE_DRIFT", 0: "NO_DRIFT"}
_BATCH_FUNCTION = "batch-inference"  # modelmon.batch.inference.BATCH_FUNCTION, without importing batch


class _Section:
    """Attribute access plus MLRun's ``to_dict()`` and ``get(field, default)``."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload, no-any-return]

    def get(self, field: str, default: Any = None) -> Any:
        return getattr(self, field, default)


@dataclasses.dataclass
class ModelEndpointMetadata(_Section):
    name: str = ""
    uid: str = ""
    project: str = ""
    endpoint_type: EndpointType = EndpointType.NODE_EP
    labels: dict[str, Any] = dataclasses.field(default_factory=dict)
    tag: str = ""
    created: dt.datetime | None = None
    updated: dt.datetime | None = None


@dataclasses.dataclass
class ModelEndpointSpec(_Section):
    model_name: str = ""
    model_class: str = ""
    model_path: str = ""
    model_uri: str = ""
    model_tags: list[str] = dataclasses.field(default_factory=list)
    model: str = ""  # MLRun 1.7: "<model name>:<version>"
    function_name: str = ""
    function_tag: str = ""
    function_uri: str = ""
    feature_names: list[str] = dataclasses.field(default_factory=list)
    label_names: list[str] = dataclasses.field(default_factory=list)
    feature_stats: dict[str, Any] = dataclasses.field(default_factory=dict)
    children: list[str] = dataclasses.field(default_factory=list)
    children_uids: list[str] = dataclasses.field(default_factory=list)
    monitoring_feature_set_uri: str = ""
    stream_path: str = ""
    algorithm: str = ""
    monitor_configuration: dict[str, Any] = dataclasses.field(default_factory=dict)
    active: bool = True


@dataclasses.dataclass
class ModelEndpointStatus(_Section):
    state: str = "ready"
    monitoring_mode: str = "enabled"
    sampling_percentage: float = 100.0
    first_request: dt.datetime | None = None
    last_request: dt.datetime | None = None
    result_status: int = -1
    drift_status: str = ""  # MLRun 1.7's text form of result_status
    avg_latency: float | None = None  # microseconds, as MLRun's
    error_count: int = 0
    current_stats: dict[str, Any] = dataclasses.field(default_factory=dict)
    current_stats_timestamp: dt.datetime | None = None
    drift_measures: dict[str, Any] = dataclasses.field(default_factory=dict)
    drift_measures_timestamp: dt.datetime | None = None
    feature_stats: dict[str, Any] = dataclasses.field(default_factory=dict)  # MLRun 1.7 kept it here


class ModelEndpointView(dict[str, Any]):
    """MLRun's ``ModelEndpoint`` (``metadata``, ``spec``, ``status``) that is the flat record's dict too.

    ``view["name"]``, ``dict(view)`` and ``view == record`` see the record as stored; ``view.get(field)``
    looks there first, then (as MLRun's ``ModelEndpoint.get``) in metadata, spec and status.
    """

    kind = "model-endpoint"

    def __init__(self, record: Mapping[str, Any], metadata: ModelEndpointMetadata, spec: ModelEndpointSpec,
                 status: ModelEndpointStatus) -> None:
        super().__init__(record)
        self.metadata = metadata
        self.spec = spec
        self.status = status

    @classmethod
    def from_record(
        cls, record: Mapping[str, Any], *, endpoint_id: str, name: str = "", project: str = "",
        feature_names: Sequence[str] = (), label_names: Sequence[str] = (),
    ) -> ModelEndpointView:
        """The view of a modelmon endpoint record (``ModelEndpoint.to_dict()`` or any part of it); the
        keywords fill what the record lacks (``evaluate`` has no stored record)."""
        r = dict(record)
        function_uri = _text(r.get("function_uri"))
        function = function_uri.rpartition("/")[2]
        function_name, _, function_tag = function.partition(":")
        model = _text(r.get("model")) or _text(r.get("name")) or name
        version = _text(r.get("model_version"))
        requests = _int(r.get("request_count"), 0)
        latency = r.get("latency_sum_us")
        feature_stats = _dict(r.get("feature_stats"))
        created = _time(r.get("created_ms"))
        status_number = _int(r.get("drift_status"), -1)
        metadata = ModelEndpointMetadata(
            name=_text(r.get("name")) or name or endpoint_id,
            uid=_text(r.get("endpoint_id")) or endpoint_id,
            project=_text(r.get("project")) or project,
            endpoint_type=EndpointType.BATCH_EP if function_name == _BATCH_FUNCTION else EndpointType.NODE_EP,
            labels=dict(_dict(r.get("labels"))),
            created=created, updated=_time(r.get("last_request_ms")) or created,
        )
        spec = ModelEndpointSpec(
            model_name=model, model_class=_text(r.get("model_class")), model_path=_text(r.get("model_uri")),
            model_uri=_text(r.get("model_uri")), model_tags=[version] if version else [],
            model=f"{model}:{version}" if version else model,
            function_name=function_name, function_tag=function_tag, function_uri=function_uri,
            feature_names=list(r.get("feature_names") or feature_names),
            label_names=list(r.get("label_names") or label_names), feature_stats=feature_stats,
        )
        status = ModelEndpointStatus(
            first_request=_time(r.get("first_request_ms")), last_request=_time(r.get("last_request_ms")),
            result_status=status_number, drift_status=_DRIFT_STATUS.get(status_number, ""),
            avg_latency=float(latency) / requests if requests and isinstance(latency, int | float) else None,
            error_count=_int(r.get("error_count"), 0),
            feature_stats=feature_stats,
        )
        return cls(r, metadata, spec, status)

    def get(self, key: str, default: Any = None) -> Any:
        if key in self:
            return self[key]
        for section in (self.metadata, self.spec, self.status):
            value = getattr(section, key, None)
            if value is not None:
                return value
        return default

    def to_dict(self) -> dict[str, Any]:
        """MLRun's nested form: ``{"kind", "metadata", "spec", "status"}``."""
        return {"kind": self.kind, "metadata": self.metadata.to_dict(), "spec": self.spec.to_dict(),
                "status": self.status.to_dict()}

    def flat_dict(self) -> dict[str, Any]:
        """The stored record (modelmon's field names)."""
        return dict(self)

    def __repr__(self) -> str:
        return f"ModelEndpointView(uid={self.metadata.uid!r}, name={self.metadata.name!r})"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _time(ms: Any) -> dt.datetime | None:
    if not isinstance(ms, int) or isinstance(ms, bool):
        return None
    stamp: dt.datetime = from_ms(ms).to_pydatetime()
    return stamp
