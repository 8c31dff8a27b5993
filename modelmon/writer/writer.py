"""The writer: stores what applications found, one writer event at a time, idempotently.

Per event: history rows in the TSDB (results, metrics), the latest result items and the endpoint's
drift status in KV, a failure item when the app raised, and an alert per ``detected`` result; on V3IO also
MLRun's results and metrics tables (``modelmon.writer.mlrun_layout``).
A packed record (:mod:`modelmon.functions.packing`, an app function's answer to packed windows) is stored with
one :meth:`ResultWriter.write_many`; an unreadable message of it is dead-lettered alone.
Every write is keyed by the window, so an event written again leaves the same state: the writer function
runs an event again after a store outage, or later from its parked copy (``modelmon.functions.handling``),
and the controller may dispatch a window twice after a lease.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from modelmon.backends.base import Backend, Update
from modelmon.core.collector import collector_paused
from modelmon.core.errors import InvalidEvent
from modelmon.core.paths import ProjectPaths
from modelmon.core.results import ResultStatusApp
from modelmon.core.timeutil import now_ms
from modelmon.events import WriterEvent
from modelmon.functions.dead_letters import DeadLetters
from modelmon.functions.handling import Body, Position
from modelmon.functions.packing import UnreadablePack, packed_messages, read_messages
from modelmon.writer.alerts import Alert, KVAlertLog, Notifier
from modelmon.writer.history import ExtraDataTexts, HistoryWriter
from modelmon.writer.latest import LatestResults
from modelmon.writer.mlrun_layout import mlrun_layout_for

log = logging.getLogger(__name__)
FUNCTION_NAME = "model-monitoring-writer"


def failure_key(endpoint_id: str, app_name: str, start_ms: int) -> str:
    return f"{endpoint_id}.{app_name}.{start_ms}"


class ResultWriter:
    """Writes writer events of one project to KV and TSDB."""

    def __init__(
        self,
        backend: Backend,
        paths: ProjectPaths,
        *,
        notifiers: Sequence[Notifier] | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._backend = backend
        self._paths = paths
        self._clock = clock
        self._history = HistoryWriter(backend.tsdb, paths, clock, kv=backend.kv)
        self._latest = LatestResults(backend.kv, paths, batched_statuses=backend.name != "v3io")
        self._mlrun = mlrun_layout_for(backend, paths)
        self._notifiers = list(notifiers) if notifiers is not None else [KVAlertLog(backend.kv, paths.alerts_table)]
        self._dead_letters = DeadLetters(backend.streams, paths.dead_letter_stream, FUNCTION_NAME,
                                         source=paths.writer_stream, clock=clock)

    def handle_record(self, body: Body, position: Position | None = None) -> list[WriterEvent]:
        """Store the writer event, or the packed writer events, of one record; those stored. The unreadable ones
        are dead-lettered after the others are stored (storing again is harmless, a dead letter twice is not)."""
        try:
            packed = packed_messages(body)
        except UnreadablePack as exc:
            self._dead_letters.reject(str(exc), body, position)
            log.warning("packed writer record dead-lettered: %s", exc)
            return []
        if packed is None:
            out = self._handle_one(body, position)
            return [] if out is None else [out]
        read, rejected = read_messages(packed, self._read)
        events = [event for _, event in read]
        self.write_many(events)
        if rejected:
            self._dead_letters.reject_all(rejected, position)
            log.warning("%d of %d writer events of a packed record dead-lettered: %s", len(rejected), len(packed),
                        rejected[0][0])
        return events

    def handle(self, body: Body, position: Position | None = None) -> WriterEvent | None:
        """Store one writer event; ``None`` when it was unreadable and went to the dead-letter stream. A packed
        record is stored whole (:meth:`handle_record`), and its last event returned."""
        events = self.handle_record(body, position)
        return events[-1] if events else None

    def _handle_one(self, body: Body, position: Position | None) -> WriterEvent | None:
        try:
            event = self._read(body)
        except InvalidEvent as exc:
            self._dead_letters.reject(exc.reason, body, position)
            log.warning("writer event dead-lettered: %s", exc.reason)
            return None
        self.write(event)
        return event

    def _read(self, body: Body | dict[str, object]) -> WriterEvent:
        event = WriterEvent.from_body(body)
        if event.project != self._paths.project:
            raise InvalidEvent(f"writer event of project {event.project!r} reached project {self._paths.project!r}")
        return event

    def write(self, event: WriterEvent) -> None:
        self.write_many([event])

    def write_many(self, events: Sequence[WriterEvent]) -> None:
        """Store ``events`` (a page of the writer stream, or the list Nuclio hands a batching function) as writing
        them one by one in order would, with one history write, one latest-results batch, one drift-status
        update per endpoint and one alert batch for all of them."""
        with collector_paused():  # a pack's many short-lived containers: modelmon.core.collector
            self._write_many(events)

    def _write_many(self, events: Sequence[WriterEvent]) -> None:
        done = [event for event in events if event.error is None]
        texts = ExtraDataTexts()  # each extra_data encoded once for both
        self._history.write_many(done, texts)
        stored = self._latest.write_many(done, self._clock(), texts)
        if self._mlrun is not None:
            for event, replaced in zip(done, stored, strict=True):
                self._mlrun.write(event, replaced)
        last: dict[str, WriterEvent] = {}  # the last event of a window decides whether its failure item stays
        for event in events:
            if event.error is not None:
                self._record_failure(event)
            last[failure_key(event.endpoint_id, event.app_name, event.start_ms)] = event
        self._clear_failures([(key, event.endpoint_id) for key, event in last.items() if event.error is None])
        self._latest.update_drift_statuses(done)
        alerts = [Alert(event.endpoint_id, event.app_name, result.name, result.value, int(result.kind),
                        event.start_ms, event.end_ms, result.extra_data)
                  for event in done for result in event.results if result.status == ResultStatusApp.detected]
        if alerts:
            for notifier in self._notifiers:
                notifier.notify_all(alerts)

    def _clear_failures(self, keys: list[tuple[str, str]]) -> None:
        """Delete the failure items of ``keys`` (with their endpoint's id): windows that failed once and now
        succeeded (re-dispatched, or the app was fixed). Almost none exist, so they are looked for with one batch
        of updates of items that exist (each rewrites its own ``endpoint_id``: one transaction on SQL stores, a
        request per key on V3IO, as a delete was), and only those found are deleted: a delete per event was most
        of the writer's store transactions."""
        if not keys:
            return
        table = self._paths.app_failures_table
        found = self._backend.kv.update_many(table, [Update(key, {"endpoint_id": endpoint_id}, create=False)
                                                     for key, endpoint_id in keys])
        for (key, _), exists in zip(keys, found, strict=True):
            if exists:
                self._backend.kv.delete(table, key)

    def _record_failure(self, event: WriterEvent) -> None:
        """The app-failures item of the window; ``error_type``, ``location`` and ``traceback`` only when the
        event carries them (an older app function's event has ``error`` alone)."""
        details = {"error_type": event.error_type, "location": event.location, "traceback": event.traceback}
        self._backend.kv.put(self._paths.app_failures_table, failure_key(event.endpoint_id, event.app_name,
                                                                          event.start_ms), {
            "endpoint_id": event.endpoint_id,
            "app_name": event.app_name,
            "start_ms": event.start_ms,
            "end_ms": event.end_ms,
            "error": event.error,
            **{k: v for k, v in details.items() if v is not None},
            "time_ms": self._clock(),
        })

