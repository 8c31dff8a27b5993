"""Ingesting one tracking record: samples, TSDB rows, dead letters, then the endpoint update.

Order matters for at-least-once delivery. Everything a record writes is keyed by its ``batch_id``
(sample batch, TSDB rows) so writing it again replaces it; the endpoint update comes last and
stores the record's position with the counters, so a record delivered again after that update is
skipped as a whole, and one delivered again before it rewrites the same rows and is counted once.
The watermark moves in that last update, hence only after the samples were written.

Rejection is per request: a bad request of a batched record is dead-lettered alone (its own
replayable body and the reason) and the others are ingested. A record whose envelope cannot be read
(not JSON, no model, unknown shape) is dead-lettered whole.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pandas as pd

from modelmon.backends import Backend
from modelmon.core.arrays import BoolArray, FloatArray
from modelmon.core.collector import collector_paused
from modelmon.core.paths import ProjectPaths
from modelmon.core.timeutil import now_ms
from modelmon.endpoints.cache import EndpointCache
from modelmon.endpoints.feature_types import endpoint_types
from modelmon.endpoints.record import MLRUN_UID, schema_fields
from modelmon.endpoints.store import EndpointStore
from modelmon.functions.dead_letters import DeadLetters
from modelmon.stream.aggregate import ERROR_LABELS, PREDICTION_LABELS, errors_frame, predictions_frame, totals
from modelmon.stream.frames import build_rows
from modelmon.stream.live_stats import LiveStats, custom_metrics
from modelmon.stream.parsing import ParsedRecord, Rejection, parse_record
from modelmon.stream.record import RawRecord
from modelmon.stream.sampling import estimated_predictions
from modelmon.stream.times import TimeBounds

FUNCTION_NAME = "model-monitoring-stream"
#: Reading a record and building its rows touch no store: whatever they raise (a RecursionError, an
#: OverflowError, a MemoryError on an absurd record) is about the input, and dead-letters it rather than
#: failing the handler, which Nuclio would not redeliver and the local runtime would retry in vain.
_READ_ERRORS = (Exception,)


@dataclasses.dataclass(frozen=True)
class IngestReport:
    """What one record did: for logs, tests and the benchmark."""

    batch_id: str
    endpoint_id: str | None = None
    requests: int = 0
    errors: int = 0
    rows: int = 0
    rejected: int = 0
    duplicate: bool = False


class Ingestor:
    """The stream function's work on one record, in two steps: :meth:`parse` (pure) and :meth:`store`.

    With ``bounds``, a request dated outside them at the time it is read is dead-lettered: a time far
    ahead would carry the endpoint's watermark past the windows to come.
    """

    def __init__(self, backend: Backend, project: str, *, function: str = FUNCTION_NAME,
                 clock: Callable[[], int] = now_ms, refresh_ms: int = 60_000,
                 bounds: TimeBounds | None = None) -> None:
        self.backend = backend
        self.bounds = bounds  # event times outside them are dead-lettered (None: any real date)
        self._clock = clock
        self.paths = ProjectPaths(project)
        self.dead_letters = DeadLetters(backend.streams, self.paths.dead_letter_stream, function,
                                        source=self.paths.tracking_stream, clock=clock)
        self.endpoints = EndpointCache(EndpointStore(backend.kv, self.paths), clock, refresh_ms)
        self.live = LiveStats(backend.tsdb, self.paths.predictions_tsdb, self.paths.events_tsdb)
        #: MLRun's ``events`` TSDB and KV schema files are for its Grafana dashboards, which read V3IO only; the
        #: endpoint item's live ``metrics`` are kept on every backend (one reader)
        self._events = backend.name == "v3io"

    def setup(self) -> None:
        """Create what the function writes to (dead-letter stream, TSDB tables); idempotent."""
        self.backend.streams.create(self.paths.dead_letter_stream)
        self.backend.tsdb.create_table(self.paths.predictions_tsdb)
        self.backend.tsdb.create_table(self.paths.errors_tsdb)
        if self._events:  # MLRun's events TSDB, and the endpoints table's schema file frames' KV reader needs
            self.backend.tsdb.create_table(self.paths.events_tsdb)
            from modelmon.backends.v3io.schema import write_kv_schema  # the v3io clients load with the backend
            write_kv_schema(self.backend.objects, self.paths.endpoints_table, MLRUN_UID, schema_fields())

    def process(self, record: RawRecord) -> IngestReport:
        """Parse and store ``record`` with the cyclic collector paused throughout (:func:`collector_paused`).

        One pause over both steps, and the decoded record freed inside it: its thousands of lists and
        dicts leave as they came, without a collection walking them (a pause per step let the first
        allocation between the steps walk the whole decoded record, ~10% of the record's time).
        """
        with collector_paused():
            return self.store(self.parse(record))

    def parse(self, record: RawRecord) -> ParsedRecord:
        """Read ``record`` into columns; unreadable parts become rejections (never raises for bad input)."""
        try:
            return parse_record(record, self.paths.project, self.bounds, self._clock())
        except _READ_ERRORS as exc:
            reason = f"cannot read the record: {type(exc).__name__}: {exc}"
            return ParsedRecord(record, None, None, np.empty(0), [], [Rejection(reason, record.body_bytes())])

    def store(self, parsed: ParsedRecord) -> IngestReport:
        """Write a parsed record; raises only backend errors (then nothing was acknowledged)."""
        with collector_paused():
            return self._store(parsed)

    def _store(self, parsed: ParsedRecord) -> IngestReport:
        record = parsed.record
        if parsed.event is None:
            self._dead_letter(parsed.rejections, record, None)
            return IngestReport(record.batch_id, rejected=len(parsed.rejections))
        endpoint_id = parsed.event.endpoint_id
        # created without a first request: the counting update sets it from the rows actually stored, so a
        # request rejected below (wrong width, text in a numeric feature) cannot date the endpoint
        endpoint = self.endpoints.get_or_create(parsed.event, None)
        if self.endpoints.already_applied(endpoint_id, record):
            return IngestReport(record.batch_id, endpoint_id, duplicate=True)
        try:
            rows = build_rows(parsed, endpoint.feature_names, endpoint.label_names, endpoint_types(endpoint))
        except _READ_ERRORS as exc:
            reason = f"cannot turn the requests into rows: {type(exc).__name__}: {exc}"
            self._dead_letter([*parsed.rejections, Rejection(reason, record.body_bytes())], record, endpoint_id)
            return IngestReport(record.batch_id, endpoint_id, rejected=len(parsed.rejections) + 1)
        kept = rows.parsed
        if kept.event is None:
            self._dead_letter(kept.rejections, record, endpoint_id)
            return IngestReport(record.batch_id, endpoint_id, rejected=len(kept.rejections))
        batch_id, when = record.batch_id, kept.when_ms
        estimated = estimated_predictions(kept.data, kept.event, single=kept.positions == [None],
                                          row_counts=kept.row_counts)
        custom = custom_metrics(kept.data, kept.positions, kept.when_ms) if self._events else None
        parsed.release()  # the rows are built: the decoded body goes while it is still in the caches
        kept.release()
        if len(rows.samples):
            try:
                self.backend.samples.append(endpoint_id, rows.samples, batch_id)
            except (ValueError, TypeError) as exc:  # the store refuses these rows: input, not an outage
                reason = f"the sample store refused the rows: {type(exc).__name__}: {exc}"
                self._dead_letter([*kept.rejections, Rejection(reason, record.body_bytes())], record, endpoint_id)
                return IngestReport(batch_id, endpoint_id, rejected=len(kept.rejections) + 1)
        minutes = self._write_tsdb(endpoint_id, batch_id, when, rows.latency_us, rows.is_error, estimated)
        self._dead_letter(kept.rejections, record, endpoint_id)
        record_totals = totals(when, rows.latency_us, rows.is_error, estimated)
        live = self.live.observe(endpoint_id, batch_id, minutes, record_totals.last_ms)
        if self._events:
            self.live.write(endpoint_id, record_totals.last_ms, live, rows.samples,
                            [*rows.feature_names, *rows.label_names], custom)
        names = (rows.feature_names, rows.label_names) if rows.feature_names else None
        types = rows.feature_types if not endpoint.feature_types and rows.feature_names else None
        applied = self.endpoints.apply(endpoint_id, record, record_totals, int(when.max()) + 1, names, types,
                                       extra=LiveStats.attributes(live))
        return IngestReport(batch_id, endpoint_id, record_totals.requests, record_totals.errors,
                            len(rows.samples), len(kept.rejections), duplicate=not applied)

    def _write_tsdb(self, endpoint_id: str, batch_id: str, when: FloatArray, latency: FloatArray,
                    is_error: BoolArray, estimated: FloatArray) -> pd.DataFrame:
        """Write the record's per-minute prediction rows and error rows; the prediction rows."""
        tsdb = self.backend.tsdb
        if not is_error.all():
            minutes = predictions_frame(endpoint_id, batch_id, when, latency, is_error, estimated)
            tsdb.write(self.paths.predictions_tsdb, minutes, labels=list(PREDICTION_LABELS))
        else:  # errors only: no minute to add to the live figures
            minutes = pd.DataFrame({"time": [], "estimated_prediction_count": [], "count": [], "latency_sum_us": []})
        if is_error.any():
            frame = errors_frame(endpoint_id, batch_id, when, is_error)
            tsdb.write(self.paths.errors_tsdb, frame, labels=list(ERROR_LABELS))
        return minutes

    def _dead_letter(self, rejections: list[Rejection], record: RawRecord, endpoint_id: str | None) -> None:
        """One letter per rejection, keyed by endpoint so an endpoint's letters keep their order."""
        self.dead_letters.reject_all([(r.reason, r.payload) for r in rejections], record.position, key=endpoint_id)
