"""Nuclio glue of a monitoring-app function: one window event per call (or a list when batching).

The app is chosen by ``MODELMON_APP_CLASS`` ("module:Class"), ``MODELMON_APP_KWARGS`` and
``MODELMON_APP_NAME``. An app that raises yields a failure record for that window; an unreadable
event goes to the dead-letter stream; a backend failure raises so the platform redelivers.
"""

from __future__ import annotations

from typing import Any

import nuclio_sdk

from modelmon.apps.runner import AppRunner
from modelmon.backends import make_backend
from modelmon.core.config import Settings
from modelmon.functions.handling import each_record, on_shutdown


def init_context(context: nuclio_sdk.Context) -> None:
    settings = Settings.from_env()
    backend = make_backend(settings)
    context.user_data.runner = AppRunner.from_settings(settings, backend)
    on_shutdown(context, backend.close)


def handler(context: nuclio_sdk.Context, event: nuclio_sdk.Event | list[nuclio_sdk.Event]) -> dict[str, Any]:
    runner: AppRunner = context.user_data.runner
    totals = {"windows": 0, "failed": 0, "dead_lettered": 0}
    for record in each_record(event):
        out = runner.handle(record.body, record.position)
        if out is None:
            totals["dead_lettered"] += 1
        else:
            totals["windows"] += 1
            totals["failed"] += out.error is not None
    return totals
