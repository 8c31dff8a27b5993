"""Nuclio glue of the writer function: one writer event per call (or a list when batching).

Unreadable events go to the dead-letter stream; a backend failure raises so the platform
redelivers the event, which the writer's keyed, conditional writes make harmless.
"""

from __future__ import annotations

from typing import Any

import nuclio_sdk

from modelmon.backends import make_backend
from modelmon.core.config import Settings
from modelmon.core.paths import ProjectPaths
from modelmon.functions.handling import each_record, on_shutdown
from modelmon.writer import ResultWriter


def init_context(context: nuclio_sdk.Context) -> None:
    settings = Settings.from_env()
    backend = make_backend(settings)
    context.user_data.writer = ResultWriter(backend, ProjectPaths(settings.project))
    on_shutdown(context, backend.close)


def handler(context: nuclio_sdk.Context, event: nuclio_sdk.Event | list[nuclio_sdk.Event]) -> dict[str, Any]:
    writer: ResultWriter = context.user_data.writer
    totals = {"events": 0, "results": 0, "metrics": 0, "failures": 0, "dead_lettered": 0}
    for record in each_record(event):
        written = writer.handle(record.body, record.position)
        if written is None:
            totals["dead_lettered"] += 1
            continue
        totals["events"] += 1
        totals["results"] += len(written.results)
        totals["metrics"] += len(written.metrics)
        totals["failures"] += written.error is not None
    return totals
