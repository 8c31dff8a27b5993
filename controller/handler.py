"""Nuclio glue of the controller function: one planning-and-dispatch run per cron tick.

All progress lives in KV, so a tick that fails, overlaps another or repeats is harmless: the next
tick picks up exactly the windows not yet dispatched. A tick that finds a window boundary before the next
tick waits for it and runs again (:mod:`modelmon.controller.pacing`), so idle endpoints' windows are
dispatched as they close.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import nuclio_sdk

from modelmon.backends import make_backend
from modelmon.controller import Controller
from modelmon.controller.pacing import BoundaryPacer
from modelmon.core.config import Settings
from modelmon.core.timeutil import now_ms
from modelmon.functions.handling import on_shutdown


def init_context(context: nuclio_sdk.Context) -> None:
    settings = Settings.from_env()
    backend = make_backend(settings)
    context.user_data.controller = Controller.from_settings(settings, backend)
    context.user_data.pacer = BoundaryPacer(settings.base_period_minutes * 60_000,
                                           grace_ms=settings.grace_minutes * 60_000)
    on_shutdown(context, backend.close)


def handler(context: nuclio_sdk.Context, event: nuclio_sdk.Event) -> dict[str, Any]:
    controller: Controller = context.user_data.controller
    pacer: BoundaryPacer = context.user_data.pacer
    pacer.tick(now_ms())
    report = dataclasses.asdict(controller.run())
    context.logger.info_with("controller run", **report)
    wait = pacer.wait_s(now_ms())
    if wait is not None:  # a boundary before the next tick: its windows are dispatched as they close
        time.sleep(wait)
        report = dataclasses.asdict(controller.run())
        context.logger.info_with("controller run at a window boundary", **report)
    return report
