"""Nuclio glue of the labels function: labels records (one per call, or a list when batching), and a
periodic re-match.

A record's labels are joined to the endpoint's stored predictions (``modelmon.labels``); labels whose
prediction is not stored yet are kept and counted, and the cron trigger re-matches them. An unreadable
record goes to the dead-letter stream with the reason (never retried). Nuclio does not deliver a record
again when the handler raised, so a store outage is waited out here
(:class:`~modelmon.functions.handling.HandlerRetry`), and the record parked on the labels stream past
``MODELMON_RETRY_DEADLINE_SECONDS``; its parked copy keeps the batch id of its first position, so what the
failed attempt wrote is replaced. A failed re-match is simply done by the next tick.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import nuclio_sdk

from modelmon.backends import make_backend
from modelmon.core.config import Settings
from modelmon.core.errors import InvalidEvent
from modelmon.core.paths import ProjectPaths
from modelmon.functions.dead_letters import DeadLetters
from modelmon.functions.handling import Delivery, HandlerRetry, each_record, on_shutdown
from modelmon.labels.matching import LabelsReport, handle_labels_record, rematch_pending
from modelmon.stream import RawRecord

#: The function's name in its function.yaml, which its dead letters carry.
FUNCTION_NAME = "labels"


def init_context(context: nuclio_sdk.Context) -> None:
    settings = Settings.from_env()
    backend = make_backend(settings)
    paths = ProjectPaths(settings.project)
    context.user_data.backend = backend
    context.user_data.project = settings.project
    context.user_data.dead_letters = DeadLetters(backend.streams, paths.dead_letter_stream, FUNCTION_NAME,
                                                 source=paths.labels_stream)
    context.user_data.retry = HandlerRetry.for_function(settings, backend.streams, paths.labels_stream,
                                                        FUNCTION_NAME, context.logger)
    on_shutdown(context, backend.close)


def handler(context: nuclio_sdk.Context, event: nuclio_sdk.Event | list[nuclio_sdk.Event]) -> dict[str, Any]:
    backend, project = context.user_data.backend, context.user_data.project
    if getattr(getattr(event, "trigger", None), "kind", None) == "cron":
        report = rematch_pending(backend, project)
        if report is not None:
            context.logger.info_with("pending labels re-matched", matched=report.matched, pending=report.unmatched)
        return {"matched": report.matched if report else 0, "pending": report.unmatched if report else 0}
    dead_letters: DeadLetters = context.user_data.dead_letters
    retry: HandlerRetry = context.user_data.retry
    totals = {"records": 0, "matched": 0, "unmatched": 0, "rejected": 0}

    def match(record: Delivery) -> LabelsReport | None:
        # a parked copy is the record first delivered at ``first_position``: same batch id, same writes
        batch_id = RawRecord.delivered(dataclasses.replace(record, position=record.first_position)).batch_id
        try:
            return handle_labels_record(backend, project, record.body, batch_id)
        except InvalidEvent as exc:  # never retried: it goes to the dead-letter stream with the reason
            dead_letters.reject(exc.reason, record.body, record.first_position)
            context.logger.warn_with("unreadable labels record dead-lettered", reason=exc.reason, batch_id=batch_id)
            return None

    for record in each_record(event):
        totals["records"] += 1
        handled = retry.handle(record, match)
        report = handled.value
        if report is None:
            handled.count_kept(totals, "rejected")
            continue
        totals["matched"] += report.matched
        totals["unmatched"] += report.unmatched
        if report.unmatched:
            context.logger.warn_with("labels for unknown request ids kept as pending", endpoint_id=report.endpoint_id,
                                     unmatched=report.unmatched, matched=report.matched)
    return totals
