"""The model-endpoint record: one KV item per endpoint in ``ProjectPaths.endpoints_table``.

Written on first sight by the stream function, by ``register_model_endpoint`` and by batch
inference; the controller reads ``first_request_ms``/``watermark_ms``; apps read names and stats.
Lists and dicts are stored as JSON text (V3IO KV attributes are flat).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from modelmon.core.results import ResultStatusApp

_JSON_FIELDS = ("labels", "feature_names", "label_names", "feature_stats", "reference_performance")


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
    feature_stats: dict[str, Any] = dataclasses.field(default_factory=dict)
    reference_performance: dict[str, Any] = dataclasses.field(default_factory=dict)
    first_request_ms: int | None = None
    last_request_ms: int | None = None
    #: event time up to which this endpoint's samples are durably stored (exclusive)
    watermark_ms: int | None = None
    request_count: int = 0
    error_count: int = 0
    latency_sum_us: float = 0.0
    drift_status: int = int(ResultStatusApp.irrelevant)
    created_ms: int | None = None
    registered: bool = False

    @property
    def latency_avg_us(self) -> float | None:
        return self.latency_sum_us / self.request_count if self.request_count else None

    def to_item(self) -> dict[str, Any]:
        item = dataclasses.asdict(self)
        for field in _JSON_FIELDS:
            item[field] = json.dumps(item[field])
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> ModelEndpoint:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in item.items() if k in known}
        for field in _JSON_FIELDS:
            if isinstance(values.get(field), str):
                values[field] = json.loads(values[field]) if values[field] else None
            if values.get(field) is None:
                values.pop(field, None)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for the CLI and SDK), with the average latency."""
        return {**dataclasses.asdict(self), "latency_avg_us": self.latency_avg_us}
