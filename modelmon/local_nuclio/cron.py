"""The ``cron`` trigger: an ``interval`` ("10s", "1m30s", "500ms") or a cron ``schedule``.

``schedule`` takes five fields (minute first), six fields with seconds first (as Nuclio's Go cron
library does), a descriptor such as ``@hourly`` or ``@every 10s``. Each tick delivers the
configured ``attributes.event`` body and headers. Ticks missed while a handler ran are skipped.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import re
import threading
import time
from collections.abc import Mapping
from typing import Any

from croniter import croniter

from modelmon.core.errors import ConfigError
from modelmon.local_nuclio.nuclio_event import cron_event
from modelmon.local_nuclio.spec import TriggerSpec
from modelmon.local_nuclio.trigger import OnFatal
from modelmon.local_nuclio.worker import Worker

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_log = logging.getLogger(__name__)


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


class CronTrigger:
    """Fires one worker on the schedule until stopped; a failing handler is logged, not retried."""

    def __init__(self, trigger: TriggerSpec, workers: list[Worker], on_fatal: OnFatal) -> None:
        self.trigger = trigger
        self.workers = workers[:1]  # Nuclio runs cron ticks one at a time
        self.schedule = cron_schedule(trigger)
        self._on_fatal = on_fatal
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"cron-{trigger.name}", daemon=True)
        self.ticks = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def info(self) -> dict[str, Any]:
        when = f"every {self.schedule.interval_s:g}s" if self.schedule.interval_s else self.schedule.expression
        return {"kind": self.trigger.kind, "name": self.trigger.name, "schedule": when, "ticks": self.ticks}

    def _run(self) -> None:
        worker = self.workers[0]
        try:
            due = self.schedule.next_after(time.time())
            while not self._stop.wait(max(0.0, due - time.time())):
                self._fire(worker)
                now = time.time()
                due = self.schedule.next_after(due)
                while due <= now:  # skip the ticks that passed while the handler ran
                    due = self.schedule.next_after(due)
        except BaseException as exc:  # pragma: no cover - only a bug in the schedule gets here
            self._on_fatal(exc)

    def _fire(self, worker: Worker) -> None:
        self.ticks += 1
        try:
            worker.call(cron_event(self.trigger, self.schedule.body, self.schedule.headers))
        except Exception as exc:
            worker.context.logger.error_with("cron handler failed", trigger=self.trigger.name, error=repr(exc))
