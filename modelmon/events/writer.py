"""The writer event: what one application found for one window (or that it failed)."""

from __future__ import annotations

import dataclasses

from modelmon.core.errors import InvalidEvent
from modelmon.core.results import ModelMonitoringApplicationMetric, ModelMonitoringApplicationResult
from modelmon.events.envelope import (
    Body,
    MessageKind,
    check_envelope,
    decode_json,
    encode,
    envelope,
    require,
    window_fields,
)

_KIND = MessageKind.WRITER


@dataclasses.dataclass(frozen=True)
class WriterEvent:
    """Results and metrics of ``app_name`` for window ``[start_ms, end_ms)`` of ``endpoint_id``.

    ``error`` is set (and the lists are empty) when the application raised for this window, with
    ``error_type`` ("KeyError"), ``location`` ("file:line" in the app's code) and ``traceback`` (cut to a
    few KB by the runner) when it did. These three are optional in the message: written only when set,
    read as ``None`` when absent (events of older app functions), ignored by older writers.
    """

    project: str
    endpoint_id: str
    app_name: str
    start_ms: int
    end_ms: int
    results: tuple[ModelMonitoringApplicationResult, ...] = ()
    metrics: tuple[ModelMonitoringApplicationMetric, ...] = ()
    error: str | None = None
    endpoint_name: str = ""
    error_type: str | None = None
    location: str | None = None
    traceback: str | None = None

    def to_body(self) -> bytes:
        return encode(
            {
                **envelope(_KIND),
                "project": self.project,
                "endpoint_id": self.endpoint_id,
                "endpoint_name": self.endpoint_name,
                "app_name": self.app_name,
                "start_ms": self.start_ms,
                "end_ms": self.end_ms,
                "results": [r.to_dict() for r in self.results],
                "metrics": [m.to_dict() for m in self.metrics],
                "error": self.error,
                **{f: getattr(self, f) for f in _FAILURE_DETAILS if getattr(self, f) is not None},
            }
        )

    @classmethod
    def from_body(cls, body: Body) -> WriterEvent:
        data = decode_json(body, _KIND)
        check_envelope(data, _KIND)
        try:
            results = tuple(ModelMonitoringApplicationResult.from_decoded(r)
                            for r in require(data, "results", list, _KIND))
            metrics = tuple(
                ModelMonitoringApplicationMetric(m["name"], m["value"])
                for m in require(data, "metrics", list, _KIND)
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidEvent(f"writer message has a bad result or metric: {exc}", kind=_KIND) from None
        for field in ("error", *_FAILURE_DETAILS):
            if data.get(field) is not None and not isinstance(data[field], str):
                raise InvalidEvent(f"writer message field {field!r} must be text or null", kind=_KIND)
        return cls(**window_fields(data, _KIND), results=results, metrics=metrics, error=data.get("error"),
                   error_type=data.get("error_type"), location=data.get("location"), traceback=data.get("traceback"))


#: What the runner knows about an app's exception beyond ``error``: optional fields of the message.
_FAILURE_DETAILS = ("error_type", "location", "traceback")
