"""Nuclio glue of the stream ingestion function: one tracking record per call (or a list when batching).

Each record is ingested before the handler returns (the platform commits the offset afterwards), and
unreadable input goes to the dead-letter stream inside the flow. Nuclio does not deliver a record again
when its handler raised, so an outage is waited out here (:class:`~modelmon.functions.handling.HandlerRetry`):
the shard waits until the store answers, for up to ``MODELMON_RETRY_DEADLINE_SECONDS``; past that the record
is *parked*, put back at the end of its shard, and the handler returns.

A parked copy and the endpoint's applied sequence: the endpoint keeps the last counted sequence of each
shard (``ingest_seq_<shard>``), and the records handled after the failed one have moved it past the failed
record's position, where a replay would be skipped as already counted. So a copy is counted by its *own*
position (after those records) and its producer ``record_id``, never by its first position; its rows are
written under the batch id of its first position, so whatever the failed attempt wrote is replaced, not
doubled. The windows of its endpoint that may have been analysed without it are then set back with the
controller's backfill, and the controller analyses them again.
"""

from __future__ import annotations

import dataclasses
import gc
from typing import Any

import nuclio_sdk

from modelmon.backends import Backend, make_backend
from modelmon.controller.backfill import backfill
from modelmon.core.config import Settings
from modelmon.core.errors import NotFound
from modelmon.functions.handling import Delivery, HandlerRetry, Position, each_record, on_shutdown
from modelmon.stream import IngestFlow, Ingestor, RawRecord
from modelmon.stream.ingestor import FUNCTION_NAME, IngestReport
from modelmon.stream.times import TimeBounds


@dataclasses.dataclass(frozen=True)
class ParkedRecord(RawRecord):
    """A parked tracking record, delivered again at a new position: counted by that position (and its
    producer id), stored under the batch id its first position gave it."""

    origin: Position | None = None

    @property
    def batch_id(self) -> str:
        if self.record_id is None and self.origin is not None:
            return RawRecord(self.body, *self.origin).batch_id
        return super().batch_id


class StreamFunction:
    """What one worker of the stream function holds: the ingestion graph and the retry around it."""

    def __init__(self, settings: Settings, backend: Backend, logger: Any = None) -> None:
        self.settings = settings
        self.backend = backend
        ingestor = Ingestor(backend, settings.project, bounds=TimeBounds.from_settings(settings))
        ingestor.setup()
        self.flow = IngestFlow(ingestor)
        self.retry = HandlerRetry.for_function(settings, backend.streams, ingestor.paths.tracking_stream,
                                               FUNCTION_NAME, logger)

    def ingest(self, record: Delivery) -> IngestReport:
        """Ingest one record; a parked copy also has its endpoint's windows analysed again."""
        if record.origin is None:
            return self.flow.process(RawRecord.delivered(record))
        shard, sequence = record.position or (None, None)
        parked = ParkedRecord(record.body, shard, sequence, origin=record.origin)
        report = self.flow.process(parked)
        if report.endpoint_id is not None:
            self._analyse_again(parked, report.endpoint_id)
        return report

    def _analyse_again(self, record: ParkedRecord, endpoint_id: str) -> None:
        """Set the endpoint's windows back to the copy's first request: records handled while it was parked
        may have closed them. A window not analysed yet is left alone (backfill never moves progress on)."""
        parsed = self.flow.ingestor.parse(record)  # pure: no store is touched
        if parsed.event is None or not len(parsed.when_ms):
            return
        try:
            backfill(self.backend, self.settings.project, endpoint_id, int(parsed.when_ms.min()),
                     base_period_minutes=self.settings.base_period_minutes)
        except (ValueError, NotFound):  # no app monitors it, or its time is not in the past: nothing to redo
            return

    def close(self) -> None:
        self.flow.close()
        self.backend.close()


def init_context(context: nuclio_sdk.Context) -> None:
    settings = Settings.from_env()
    function = StreamFunction(settings, make_backend(settings), context.logger)
    context.user_data.function = function
    context.user_data.flow = function.flow
    on_shutdown(context, function.close)
    # what init built (modules, clients, caches) lives as long as the process: out of the collector's way,
    # so its rare full collections do not walk it again for every record
    gc.freeze()


def handler(context: nuclio_sdk.Context, event: nuclio_sdk.Event | list[nuclio_sdk.Event]) -> dict[str, Any]:
    function: StreamFunction = context.user_data.function
    totals = {"records": 0, "requests": 0, "errors": 0, "rows": 0, "rejected": 0, "duplicates": 0}
    for record in each_record(event):
        totals["records"] += 1
        handled = function.retry.handle(record, function.ingest)
        report = handled.value
        if report is None:  # parked or dead-lettered: the record is kept for later or for a person
            handled.count_kept(totals)
            continue
        totals["requests"] += report.requests
        totals["errors"] += report.errors
        totals["rows"] += report.rows
        totals["rejected"] += report.rejected
        totals["duplicates"] += int(report.duplicate)
        if report.rejected:
            context.logger.warn_with("tracking requests dead-lettered", batch_id=report.batch_id,
                                     endpoint_id=report.endpoint_id, rejected=report.rejected)
    return totals
