"""The window event: the controller asks one application to analyse one closed window."""

from __future__ import annotations

import dataclasses

from modelmon.core.errors import InvalidEvent
from modelmon.events.envelope import Body, MessageKind, check_envelope, decode_json, encode, envelope, window_fields

_KIND = MessageKind.WINDOW


@dataclasses.dataclass(frozen=True)
class WindowEvent:
    """Analyse ``[start_ms, end_ms)`` of ``endpoint_id`` with ``app_name``.

    A window is identified by (endpoint, app, start, end): delivering it twice is harmless.
    """

    project: str
    endpoint_id: str
    app_name: str
    start_ms: int
    end_ms: int
    endpoint_name: str = ""

    def __post_init__(self) -> None:
        if self.end_ms <= self.start_ms:
            raise InvalidEvent(f"window end {self.end_ms} is not after its start {self.start_ms}", kind=_KIND)

    @property
    def key(self) -> tuple[str, str, int, int]:
        return (self.endpoint_id, self.app_name, self.start_ms, self.end_ms)

    def to_body(self) -> bytes:
        # fields listed by hand: dataclasses.asdict deep-copies and dominates the controller's run time
        return encode({**envelope(_KIND), **{f.name: getattr(self, f.name) for f in _FIELDS}})

    @classmethod
    def from_body(cls, body: Body) -> WindowEvent:
        data = decode_json(body, _KIND)
        check_envelope(data, _KIND)
        return cls(**window_fields(data, _KIND))


_FIELDS = dataclasses.fields(WindowEvent)
