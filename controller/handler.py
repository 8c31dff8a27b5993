"""Nuclio glue of the controller function: one planning-and-dispatch run per cron tick.

All progress lives in KV, so a tick that fails, overlaps another or repeats is harmless: the next
tick picks up exactly the windows not yet dispatched.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import nuclio_sdk

from modelmon.backends import make_backend
from modelmon.controller import Controller
from modelmon.core.config import Settings
from modelmon.functions.handling import on_shutdown


def init_context(context: nuclio_sdk.Context) -> None:
    settings = Settings.from_env()
    backend = make_backend(settings)
    context.user_data.controller = Controller.from_settings(settings, backend)
    on_shutdown(context, backend.close)


def handler(context: nuclio_sdk.Context, event: nuclio_sdk.Event) -> dict[str, Any]:
    controller: Controller = context.user_data.controller
    report = dataclasses.asdict(controller.run())
    context.logger.info_with("controller run", **report)
    return report
