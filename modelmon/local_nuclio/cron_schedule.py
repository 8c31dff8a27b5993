"""When a ``cron`` trigger fires: an ``interval`` ("10s", "1m30s", "500ms") or a cron ``schedule``.

``schedule`` takes five fields (minute first), six fields with seconds first (as Nuclio's Go cron
library does), a descriptor such as ``@hourly`` or ``@every 10s``. Each tick delivers the
configured ``attributes.event`` body and headers. Reading a bundle checks this before any process
starts, so it imports nothing of the runtime (:mod:`~modelmon.local_nuclio.cron` runs the ticks).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any

from croniter import croniter

from modelmon.core.errors import ConfigError
from modelmon.local_nuclio.trigger_spec import TriggerSpec

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(text: str) -> float:
    """Seconds in a Go-style duration.

    >>> parse_duration("1m30s"), parse_duration("250ms"), parse_duration("2h")
    (90.0, 0.25, 7200.0)
    """
    text = text.strip()
    parts = _PART.findall(text)
    if not text or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{text!r} is not a duration like '10s', '1m30s' or '500ms'")
    return sum(float(n) * _UNITS[u] for n, u in parts)


@dataclasses.dataclass(frozen=True)
class CronSchedule:
    """When a cron trigger fires and what each tick carries."""

    interval_s: float | None
    expression: str | None
    seconds_first: bool
    body: bytes
    headers: Mapping[str, str]

    def next_after(self, t: float) -> float:
        """The first firing time (epoch seconds) strictly after ``t``."""
        if self.interval_s is not None:
            return t + self.interval_s
        start = dt.datetime.fromtimestamp(t, dt.UTC)
        return float(croniter(self.expression, start, second_at_beginning=self.seconds_first).get_next(float))


def cron_schedule(trigger: TriggerSpec) -> CronSchedule:
    """Read ``trigger``'s attributes; a :class:`ConfigError` names the file, trigger and attribute."""
    attrs = trigger.attributes
    interval, schedule = attrs.get("interval"), attrs.get("schedule")
    if isinstance(schedule, str) and schedule.strip().startswith("@every "):
        interval, schedule = schedule.strip()[len("@every ") :], None
    if bool(interval) == bool(schedule):
        raise ConfigError(f"{trigger.where()}: set exactly one of attributes.interval and attributes.schedule")
    interval_s = expression = None
    seconds_first = False
    if interval:
        try:
            interval_s = parse_duration(str(interval))
        except ValueError as exc:
            raise ConfigError(f"{trigger.where()}: attributes.interval {exc}") from None
        if interval_s <= 0:
            raise ConfigError(f"{trigger.where()}: attributes.interval must be longer than zero")
    else:
        expression = str(schedule).strip()
        seconds_first = len(expression.split()) == 6
        if not croniter.is_valid(expression, second_at_beginning=seconds_first):
            raise ConfigError(f"{trigger.where()}: attributes.schedule {expression!r} is not a cron expression")
    body, headers = _event(trigger, attrs.get("event") or {})
    return CronSchedule(interval_s, expression, seconds_first, body, headers)


def _event(trigger: TriggerSpec, event: Any) -> tuple[bytes, dict[str, str]]:
    if not isinstance(event, dict):
        raise ConfigError(f"{trigger.where()}: attributes.event must be a mapping with 'body' and 'headers'")
    body = event.get("body", "")
    headers = event.get("headers") or {}
    if not isinstance(headers, dict):
        raise ConfigError(f"{trigger.where()}: attributes.event.headers must be a mapping")
    headers = {str(k): str(v) for k, v in headers.items()}
    if isinstance(body, dict | list):  # a YAML mapping as body: send it as JSON
        headers.setdefault("Content-Type", "application/json")
        return json.dumps(body).encode("utf-8"), headers
    return ("" if body is None else str(body)).encode("utf-8"), headers
