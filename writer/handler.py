"""Nuclio glue of the writer function: one record per call (or a list when batching), holding one writer event
or an app function's packed events (:mod:`modelmon.functions.packing`), stored with one batch.

Unreadable events go to the dead-letter stream. Nuclio does not deliver an event again when the handler
raised, so an outage is waited out here (:class:`~modelmon.functions.handling.HandlerRetry`): retried until
the store answers, parked on the writer stream past ``MODELMON_RETRY_DEADLINE_SECONDS``. Every write is keyed
by the window, so writing an event again (after a partial attempt, or its parked copy) leaves the same state.
"""

from __future__ import annotations

from typing import Any

import nuclio_sdk

from modelmon.backends import make_backend
from modelmon.core.config import Settings
from modelmon.core.paths import ProjectPaths
from modelmon.functions.handling import HandlerRetry, each_record, on_shutdown
from modelmon.writer import ResultWriter
from modelmon.writer.writer import FUNCTION_NAME


def init_context(context: nuclio_sdk.Context) -> None:
    settings = Settings.from_env()
    backend = make_backend(settings)
    paths = ProjectPaths(settings.project)
    context.user_data.writer = ResultWriter(backend, paths)
    context.user_data.retry = HandlerRetry.for_function(settings, backend.streams, paths.writer_stream,
                                                        FUNCTION_NAME, context.logger)
    on_shutdown(context, backend.close)


def handler(context: nuclio_sdk.Context, event: nuclio_sdk.Event | list[nuclio_sdk.Event]) -> dict[str, Any]:
    writer: ResultWriter = context.user_data.writer
    retry: HandlerRetry = context.user_data.retry
    totals = {"events": 0, "results": 0, "metrics": 0, "failures": 0, "dead_lettered": 0}
    for record in each_record(event):
        handled = retry.handle(record, lambda r: writer.handle_record(r.body, r.first_position))
        if not handled.value:  # unreadable (dead-lettered by the writer), given up on, or parked
            handled.count_kept(totals)
            continue
        for written in handled.value:
            totals["events"] += 1
            totals["results"] += len(written.results)
            totals["metrics"] += len(written.metrics)
            totals["failures"] += written.error is not None
    return totals
