"""Running one monitoring application on the window events of its stream.

Per window event: read it (unreadable → dead-letter stream), build the context, call the app, and
push a writer event with its results, or with ``error`` set when the app raised. A failing app
never stops the function. A packed record (:mod:`modelmon.functions.packing`) is handled window by window
the same way, its windows' samples read together (:class:`~modelmon.apps.runner.window_pack.WindowPack`), and
answered with packed writer events; an unreadable window, or one the runner itself keeps failing on, is
dead-lettered alone, and the other windows of the record go on.

A failing store is not the app's failure: it raises (also when the app wrapped it in its own exception),
and the function's :class:`~modelmon.functions.handling.HandlerRetry` runs the record again once the store
answers, or parks it, so no window is dropped (Nuclio does not deliver a failed event again). Running a
window again is harmless: the writer keys everything by the window (endpoint, app, start, end).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from modelmon.apps.runner.failure import AppFailure
from modelmon.apps.runner.loader import load_app
from modelmon.apps.runner.reference_cache import ReferenceRowsCache
from modelmon.apps.runner.sample_files import SampleFiles
from modelmon.apps.runner.window_context import build_context
from modelmon.apps.runner.window_pack import WindowPack
from modelmon.apps.sdk import run_application
from modelmon.apps.sdk.context import wants_bookkeeping_columns
from modelmon.backends.base import Backend, OutRecord
from modelmon.backends.local.streams import shard_for_key
from modelmon.core.config import ENV_APP_NAME, Settings
from modelmon.core.errors import BackendError, ConfigError, InvalidEvent
from modelmon.core.paths import ProjectPaths
from modelmon.core.timeutil import now_ms
from modelmon.endpoints.store import EndpointStore
from modelmon.events import WindowEvent, WriterEvent
from modelmon.functions.dead_letters import DeadLetters
from modelmon.functions.handling import Body, Position, is_transient
from modelmon.functions.packing import Packed, UnreadablePack, joined, packed_messages, read_messages, runs

log = logging.getLogger(__name__)
#: How often a window of a packed record is tried when the runner (not the app) fails on it with an error that
#: is no outage, before it is dead-lettered alone: what ``HandlerRetry`` gives a record of one window.
PACKED_ATTEMPTS = 3


class AppRunner:
    """One application bound to its input stream and the writer stream of its project."""

    def __init__(
        self,
        app: Any,
        app_name: str,
        backend: Backend,
        paths: ProjectPaths,
        *,
        clock: Callable[[], int] = now_ms,
        logger: logging.Logger | Any = None,
        nuclio_logger: Any = None,
        source_file: str | None = None,
    ) -> None:
        self.app = app
        self.app_name = app_name
        self._backend = backend
        self._paths = paths
        self._app_logger = logger  # handed to the app's context (default: logger "modelmon.app.<name>")
        self._nuclio_logger = nuclio_logger  # the context's nuclio_logger (default: the app logger)
        self._bookkeeping = wants_bookkeeping_columns(app)
        self._app_file = _source_file(app)  # a failure's location is looked for in the app's code first
        self._shown_file = source_file  # and named as the file its author edits, not the copy that runs
        self.reference_rows = ReferenceRowsCache(backend.objects, paths, clock=clock)  # read once per endpoint
        self.sample_files = SampleFiles()  # each sample file's footer read once
        self._dead_letters = DeadLetters(backend.streams, paths.dead_letter_stream, app_name,
                                         source=paths.app_stream(app_name), clock=clock)
        backend.streams.create(paths.writer_stream)
        self._writer_shards = backend.streams.describe(paths.writer_stream).shards

    @classmethod
    def from_settings(cls, settings: Settings, backend: Backend, **kwargs: Any) -> AppRunner:
        """The app named by ``MODELMON_APP_CLASS``/``MODELMON_APP_KWARGS`` under ``MODELMON_APP_NAME``."""
        if not settings.app_name:
            raise ConfigError(f"{ENV_APP_NAME} is not set: an app function needs its application name")
        app = load_app(settings.app_class, settings.app_kwargs)
        kwargs.setdefault("source_file", settings.app_source)
        return cls(app, settings.app_name, backend, ProjectPaths(settings.project), **kwargs)

    def handle_record(self, body: Body, position: Position | None = None) -> list[WriterEvent]:
        """Analyse the window, or the packed windows, of one record; the writer events pushed."""
        try:
            packed = packed_messages(body)
        except UnreadablePack as exc:
            self._dead_letters.reject(str(exc), body, position)
            log.warning("packed window record dead-lettered: %s", exc)
            return []
        if packed is None:
            out = self._handle_one(body, position)
            return [] if out is None else [out]
        return self._handle_packed(packed, position)

    def handle(self, body: Body, position: Position | None = None) -> WriterEvent | None:
        """Analyse the window ``body`` names; the writer event pushed, or ``None`` if dead-lettered (an unreadable
        window, or results too large for a stream record). A packed record is handled whole
        (:meth:`handle_record`), and its last window's writer event returned."""
        events = self.handle_record(body, position)
        return events[-1] if events else None

    def _handle_one(self, body: Body, position: Position | None) -> WriterEvent | None:
        try:
            window = self._read(body)
        except InvalidEvent as exc:
            self._dead_letters.reject(exc.reason, body, position)
            log.warning("window event dead-lettered: %s", exc.reason)
            return None
        out = self.analyse(window)
        # results too large for a stream record (a user app's huge extra_data) are dead-lettered, not retried
        (position,) = self._dead_letters.put_or_reject(
            self._paths.writer_stream, [OutRecord(out.to_body(), partition_key=window.endpoint_id)], resends=1)
        return out if position is not None else None

    def _handle_packed(self, packed: list[Packed], position: Position | None) -> list[WriterEvent]:
        """The windows of a packed record: analysed in order, their writer events pushed packed, then the
        windows that could not be handled dead-lettered (after the push: writing an event twice is harmless, a
        dead letter twice is not, and an outage makes ``HandlerRetry`` run the whole record again)."""
        windows, refused = read_messages(packed, self._read)
        rejected: list[tuple[str, Body]] = list(refused)
        pack = WindowPack(self._backend, self._paths, [window for _, window in windows], self.sample_files)
        outs = [out for message, window in windows
                if (out := self._analyse_packed(message, window, pack, rejected)) is not None]
        pushed = self._push_packed(outs)
        if rejected:
            self._dead_letters.reject_all(rejected, position)
            log.warning("%d of %d windows of a packed record dead-lettered: %s", len(rejected), len(packed),
                        rejected[0][0])
        return pushed

    def _analyse_packed(self, message: Packed, window: WindowEvent, pack: WindowPack,
                        rejected: list[tuple[str, Body]]) -> tuple[WriterEvent, bytes] | None:
        """:meth:`analyse` of one window of a pack, and its writer event's body; an outage is raised (the record is
        run again), any other failure of the runner tried again, then the window put in ``rejected``."""
        error: Exception | None = None
        for _ in range(PACKED_ATTEMPTS):
            try:
                out = self.analyse(window, pack)
                return out, out.to_body()
            except Exception as exc:  # the app's own failures are results already: this is the runner's or store's
                if is_transient(exc):
                    raise
                error = exc
        rejected.append((message.reason(f"{type(error).__name__}: {error}"), message.data))
        return None

    def _push_packed(self, events: list[tuple[WriterEvent, bytes]]) -> list[WriterEvent]:
        """Push ``events`` (with their bodies) packed, each on the writer stream's shard of its endpoint; those
        pushed (an event too large for a record is dead-lettered by the put, as a lone one is)."""
        by_shard: dict[int, list[tuple[WriterEvent, bytes]]] = {}
        for event, body in events:
            by_shard.setdefault(shard_for_key(event.endpoint_id, self._writer_shards), []).append((event, body))
        records: list[OutRecord] = []
        carried: list[list[WriterEvent]] = []
        for shard, mine in sorted(by_shard.items()):
            bodies = [body for _, body in mine]
            for run in runs([len(b) for b in bodies]):
                records.append(OutRecord(joined(bodies[run.start:run.stop]), shard=shard))
                carried.append([event for event, _ in mine[run.start:run.stop]])
        placed = self._dead_letters.put_or_reject(self._paths.writer_stream, records, resends=1)
        return [event for where, events_ in zip(placed, carried, strict=True) if where is not None
                for event in events_]

    def analyse(self, window: WindowEvent, pack: WindowPack | None = None) -> WriterEvent:
        """Run the app on ``window``: its results, or the failure as ``error``. ``pack`` is the reads the windows
        of its packed record share."""
        item = pack.endpoint(window) if pack is not None else \
            EndpointStore(self._backend.kv, self._paths).item(window.endpoint_id)
        if item is None:
            return self._failure(window, f"endpoint {window.endpoint_id!r} is not in the endpoints table")
        context = build_context(window, item, self._backend, self._paths, self._app_logger,
                                nuclio_logger=self._nuclio_logger, bookkeeping_columns=self._bookkeeping,
                                reference_rows=self.reference_rows, pack=pack)
        try:
            results, metrics = run_application(self.app, context)
        except Exception as exc:  # the app's own failure is recorded for this window, and we go on
            if isinstance(exc, BackendError) or is_transient(exc):
                raise  # the store failed, not the app: the window is run again (HandlerRetry)
            failure = AppFailure.from_exception(exc, self._app_file, shown_as=self._shown_file)
            log.warning("application %s failed on window [%d, %d) of endpoint %s at %s: %s", self.app_name,
                        window.start_ms, window.end_ms, window.endpoint_id, failure.location, failure.error,
                        exc_info=exc)
            return self._failure(window, failure.error, failure)
        return WriterEvent(window.project, window.endpoint_id, window.app_name, window.start_ms, window.end_ms,
                           results=tuple(results), metrics=tuple(metrics), endpoint_name=context.endpoint_name)

    def _read(self, body: Body | dict[str, object]) -> WindowEvent:
        window = WindowEvent.from_body(body)
        if window.app_name != self.app_name:
            raise InvalidEvent(f"window for application {window.app_name!r} reached {self.app_name!r}")
        if window.project != self._paths.project:
            raise InvalidEvent(f"window of project {window.project!r} reached project {self._paths.project!r}")
        return window

    @staticmethod
    def _failure(window: WindowEvent, error: str, failure: AppFailure | None = None) -> WriterEvent:
        return WriterEvent(window.project, window.endpoint_id, window.app_name, window.start_ms, window.end_ms,
                           error=error[:2000], endpoint_name=window.endpoint_name,
                           error_type=failure.error_type if failure else None,
                           location=failure.location if failure else None,
                           traceback=failure.traceback if failure else None)


def _source_file(app: Any) -> str | None:
    try:
        return inspect.getsourcefile(type(app))
    except TypeError:  # a class without a file (defined in a REPL)
        return None
