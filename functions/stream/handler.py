"""Nuclio glue of the stream ingestion function: one tracking record per call (or a list when batching).

Each record is ingested before the handler returns (the platform commits the offset afterwards).
Unreadable input goes to the dead-letter stream inside the flow; a backend failure raises, so the
platform redelivers the record.
"""

from __future__ import annotations

from typing import Any

import nuclio_sdk

from modelmon.backends import make_backend
from modelmon.core.config import Settings
from modelmon.functions.handling import each_record, on_shutdown
from modelmon.stream import IngestFlow, Ingestor, RawRecord
from modelmon.stream.times import TimeBounds


def init_context(context: nuclio_sdk.Context) -> None:
    settings = Settings.from_env()
    backend = make_backend(settings)
    ingestor = Ingestor(backend, settings.project, bounds=TimeBounds.from_settings(settings))
    ingestor.setup()
    flow = IngestFlow(ingestor)
    context.user_data.flow = flow

    def close() -> None:
        flow.close()
        backend.close()

    on_shutdown(context, close)


def handler(context: nuclio_sdk.Context, event: nuclio_sdk.Event | list[nuclio_sdk.Event]) -> dict[str, Any]:
    flow: IngestFlow = context.user_data.flow
    totals = {"records": 0, "requests": 0, "errors": 0, "rows": 0, "rejected": 0, "duplicates": 0}
    for record in each_record(event):
        report = flow.process(RawRecord.delivered(record))
        totals["records"] += 1
        totals["requests"] += report.requests
        totals["errors"] += report.errors
        totals["rows"] += report.rows
        totals["rejected"] += report.rejected
        totals["duplicates"] += int(report.duplicate)
        if report.rejected:
            context.logger.warn_with("tracking requests dead-lettered", batch_id=report.batch_id,
                                     endpoint_id=report.endpoint_id, rejected=report.rejected)
    return totals
