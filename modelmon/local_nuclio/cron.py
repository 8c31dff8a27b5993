"""The ``cron`` trigger: fires a worker on its :mod:`~modelmon.local_nuclio.cron_schedule`.

Ticks missed while a handler ran are skipped.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from modelmon.local_nuclio.cron_schedule import cron_schedule
from modelmon.local_nuclio.nuclio_event import cron_event
from modelmon.local_nuclio.trigger import OnFatal
from modelmon.local_nuclio.trigger_spec import TriggerSpec
from modelmon.local_nuclio.worker import Worker

_log = logging.getLogger(__name__)


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
