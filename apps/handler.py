"""Nuclio glue of a monitoring-app function: one record per call (or a list when batching), holding one window
event or the controller's packed windows (:mod:`modelmon.functions.packing`).

The app is chosen by ``MODELMON_APP_CLASS`` ("module:Class"), ``MODELMON_APP_KWARGS`` and
``MODELMON_APP_NAME``. An app that raises yields a failure record for that window; an unreadable
event goes to the dead-letter stream. Nuclio does not deliver an event again when the handler raised,
so a store outage is waited out here (:class:`~modelmon.functions.handling.HandlerRetry`): the window is run
again until the store answers, and parked on the app's stream past ``MODELMON_RETRY_DEADLINE_SECONDS``.
"""

from __future__ import annotations

from typing import Any

import nuclio_sdk

from modelmon.apps.runner import AppRunner
from modelmon.backends import make_backend
from modelmon.core.config import Settings
from modelmon.core.paths import ProjectPaths
from modelmon.functions.handling import HandlerRetry, each_record, on_shutdown


def init_context(context: nuclio_sdk.Context) -> None:
    settings = Settings.from_env()
    backend = make_backend(settings)
    runner = AppRunner.from_settings(settings, backend, nuclio_logger=context.logger)  # the app's nuclio_logger
    context.user_data.runner = runner
    context.user_data.retry = HandlerRetry.for_function(
        settings, backend.streams, ProjectPaths(settings.project).app_stream(runner.app_name), runner.app_name,
        context.logger)
    on_shutdown(context, backend.close)


def handler(context: nuclio_sdk.Context, event: nuclio_sdk.Event | list[nuclio_sdk.Event]) -> dict[str, Any]:
    runner: AppRunner = context.user_data.runner
    retry: HandlerRetry = context.user_data.retry
    totals = {"windows": 0, "failed": 0, "dead_lettered": 0}
    for record in each_record(event):
        handled = retry.handle(record, lambda r: runner.handle_record(r.body, r.first_position))
        outs = handled.value
        if not outs:  # unreadable (dead-lettered by the runner), given up on, or parked
            handled.count_kept(totals)
            continue
        totals["windows"] += len(outs)
        totals["failed"] += sum(out.error is not None for out in outs)
    return totals
