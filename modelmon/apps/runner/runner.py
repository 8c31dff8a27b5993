"""Running one monitoring application on the window events of its stream.

Per window event: read it (unreadable → dead-letter stream), build the context, call the app, and
push a writer event with its results, or with ``error`` set when the app raised. A failing app
never stops the function. A failing store is not the app's failure: it raises (also when the app
wrapped it in its own exception), and the function's :class:`~modelmon.functions.handling.HandlerRetry`
runs the window again once the store answers, or parks it, so the window is never dropped (Nuclio
does not deliver a failed event again). Running a window again is harmless: the writer keys everything
by the window (endpoint, app, start, end).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from modelmon.apps.runner.failure import AppFailure
from modelmon.apps.runner.loader import load_app
from modelmon.apps.runner.reference_cache import ReferenceRowsCache
from modelmon.apps.runner.window_context import build_context
from modelmon.apps.sdk import run_application
from modelmon.apps.sdk.context import wants_bookkeeping_columns
from modelmon.backends.base import Backend, OutRecord
from modelmon.core.config import ENV_APP_NAME, Settings
from modelmon.core.errors import BackendError, ConfigError, InvalidEvent
from modelmon.core.paths import ProjectPaths
from modelmon.core.timeutil import now_ms
from modelmon.endpoints.store import EndpointStore
from modelmon.events import WindowEvent, WriterEvent
from modelmon.functions.dead_letters import DeadLetters
from modelmon.functions.handling import Body, Position, is_transient

log = logging.getLogger(__name__)


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
        self._dead_letters = DeadLetters(backend.streams, paths.dead_letter_stream, app_name,
                                         source=paths.app_stream(app_name), clock=clock)
        backend.streams.create(paths.writer_stream)

    @classmethod
    def from_settings(cls, settings: Settings, backend: Backend, **kwargs: Any) -> AppRunner:
        """The app named by ``MODELMON_APP_CLASS``/``MODELMON_APP_KWARGS`` under ``MODELMON_APP_NAME``."""
        if not settings.app_name:
            raise ConfigError(f"{ENV_APP_NAME} is not set: an app function needs its application name")
        app = load_app(settings.app_class, settings.app_kwargs)
        kwargs.setdefault("source_file", settings.app_source)
        return cls(app, settings.app_name, backend, ProjectPaths(settings.project), **kwargs)

    def handle(self, body: Body, position: Position | None = None) -> WriterEvent | None:
        """Analyse the window ``body`` names; the writer event pushed, or ``None`` if dead-lettered (an unreadable
        window, or results too large for a stream record)."""
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

    def analyse(self, window: WindowEvent) -> WriterEvent:
        """Run the app on ``window``: its results, or the failure as ``error``."""
        item = EndpointStore(self._backend.kv, self._paths).item(window.endpoint_id)
        if item is None:
            return self._failure(window, f"endpoint {window.endpoint_id!r} is not in the endpoints table")
        context = build_context(window, item, self._backend, self._paths, self._app_logger,
                                nuclio_logger=self._nuclio_logger, bookkeeping_columns=self._bookkeeping,
                                reference_rows=self.reference_rows)
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

    def _read(self, body: Body) -> WindowEvent:
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
