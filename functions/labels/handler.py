"""Nuclio glue of the labels function: one labels record per call, and a periodic re-match.

A record's labels are joined to the endpoint's stored predictions (``modelmon.labels``); labels whose
prediction is not stored yet are kept and counted, and the cron trigger re-matches them. An unreadable
record is logged and skipped (the runtime dead-letters records whose handler keeps failing); a backend
failure raises, so the record is redelivered.
"""

from __future__ import annotations

from typing import Any

import nuclio_sdk

from modelmon.backends import OutRecord, make_backend
from modelmon.core.config import Settings
from modelmon.core.errors import InvalidEvent
from modelmon.core.paths import ProjectPaths
from modelmon.core.timeutil import now_ms
from modelmon.events import DeadLetter
from modelmon.functions.handling import on_shutdown
from modelmon.labels.matching import handle_labels_record, rematch_pending
from modelmon.stream import RawRecord


def init_context(context: nuclio_sdk.Context) -> None:
    settings = Settings.from_env()
    backend = make_backend(settings)
    backend.streams.create(ProjectPaths(settings.project).dead_letter_stream)
    context.user_data.backend = backend
    context.user_data.project = settings.project
    on_shutdown(context, backend.close)


def handler(context: nuclio_sdk.Context, event: nuclio_sdk.Event) -> dict[str, Any]:
    backend, project = context.user_data.backend, context.user_data.project
    if getattr(event.trigger, "kind", None) == "cron":
        report = rematch_pending(backend, project)
        if report is not None:
            context.logger.info_with("pending labels re-matched", matched=report.matched, pending=report.unmatched)
        return {"matched": report.matched if report else 0, "pending": report.unmatched if report else 0}
    batch_id = _batch_id(event)
    try:
        report = handle_labels_record(backend, project, event.body, batch_id)
    except InvalidEvent as exc:  # never retried: it goes to the dead-letter stream with the reason
        paths = ProjectPaths(project)
        letter = DeadLetter(source=paths.labels_stream, reason=exc.reason, payload=RawRecord(event.body).body_bytes(),
                            time_ms=now_ms(), shard=event.shard_id, sequence=event.offset, function="labels")
        backend.streams.put_records(paths.dead_letter_stream, [OutRecord(letter.to_body())])
        context.logger.warn_with("unreadable labels record dead-lettered", reason=exc.reason, batch_id=batch_id)
        return {"rejected": 1}
    if report.unmatched:
        context.logger.warn_with("labels for unknown request ids kept as pending", endpoint_id=report.endpoint_id,
                                 unmatched=report.unmatched, matched=report.matched)
    return {"endpoint_id": report.endpoint_id, "matched": report.matched, "unmatched": report.unmatched}


def _batch_id(event: nuclio_sdk.Event) -> str:
    """``s{shard}-{offset}`` for a stream record, else a hash of the body (HTTP, tests)."""
    if isinstance(event.shard_id, int) and isinstance(event.offset, int):
        return f"s{event.shard_id}-{event.offset}"
    return RawRecord(event.body).batch_id
