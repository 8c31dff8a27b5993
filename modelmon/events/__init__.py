"""The messages that travel on modelmon's streams; each has ``kind`` and ``schema``."""

from __future__ import annotations

from modelmon.events.dead_letter import DeadLetter
from modelmon.events.envelope import encode
from modelmon.events.labels import LabelsEvent
from modelmon.events.tracking import TrackingEvent, endpoint_uid, parse_tracking, tracking_body
from modelmon.events.window import WindowEvent
from modelmon.events.writer import WriterEvent

__all__ = [
    "DeadLetter",
    "LabelsEvent",
    "TrackingEvent",
    "WindowEvent",
    "WriterEvent",
    "encode",
    "endpoint_uid",
    "parse_tracking",
    "tracking_body",
]
