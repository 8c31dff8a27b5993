"""Timing and identifying one served request, shared by the model server and the handler wrapper."""

from __future__ import annotations

import time
import uuid
from typing import Any

import nuclio_sdk


def request_id_of(event: nuclio_sdk.Event | None, body: Any) -> str:
    """The request id: the body's ``id`` (MLRun's protocol), else Nuclio's event id, else a new uuid."""
    if isinstance(body, dict) and body.get("id") not in (None, ""):
        return str(body["id"])
    event_id = getattr(event, "id", None)
    if event_id not in (None, ""):
        return str(event_id)
    return uuid.uuid4().hex


class Timer:
    """Start wall time (for ``when``) and a monotonic latency in whole microseconds.

    ``perf_counter_ns`` differences never wrap: a 1.2 s request is 1,200,000 µs (MLRun's pusher takes
    ``timedelta.microseconds``, which is only the sub-second part).
    """

    __slots__ = ("_perf_ns", "start_ns")

    def __init__(self) -> None:
        self.start_ns = time.time_ns()
        self._perf_ns = time.perf_counter_ns()

    def elapsed_us(self) -> int:
        return (time.perf_counter_ns() - self._perf_ns) // 1000
