"""A worker: one ``nuclio_sdk.Context`` with its handler, as one Nuclio worker holds them.

``init_context`` runs once per worker. Handlers and ``init_context`` may be coroutine functions;
each worker then keeps its own event loop, as Nuclio's wrapper does.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import sys
from typing import Any

import nuclio_sdk

from modelmon.local_nuclio.handler import LoadedHandler
from modelmon.local_nuclio.trigger_spec import TriggerSpec

LOG_FORMATS = ("human", "json")
_log = logging.getLogger(__name__)


class RuntimePlatform(nuclio_sdk.Platform):
    """The platform object handlers see: it remembers their termination and drain callbacks."""

    def __init__(self, namespace: str) -> None:
        super().__init__("local", namespace=namespace)
        self.termination_callback: Any = None
        self.drain_callback: Any = None

    def set_termination_callback(self, callback: Any) -> None:
        super().set_termination_callback(callback)
        self.termination_callback = callback

    def set_drain_callback(self, callback: Any) -> None:
        super().set_drain_callback(callback)
        self.drain_callback = callback


def make_logger(function: str, log_format: str = "human", level: int = logging.INFO) -> nuclio_sdk.Logger:
    """A Nuclio logger writing ``log_format`` lines ("human" or "json") to stderr."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format {log_format!r}: expected one of {', '.join(LOG_FORMATS)}")
    name = f"nuclio.{function}"
    logger = nuclio_sdk.Logger(level, name=name)
    formats = nuclio_sdk.logger
    formatter = formats.JSONFormatter() if log_format == "json" else formats.HumanReadableFormatter()
    logger.set_handler("modelmon-runtime", sys.stderr, formatter)
    logging.getLogger(name).propagate = False
    return logger


class Worker:
    """One context of one trigger of a function; not shared between threads."""

    def __init__(
        self, handler: LoadedHandler, trigger: TriggerSpec, worker_id: int, logger: nuclio_sdk.Logger, namespace: str
    ) -> None:
        self.handler = handler
        self.trigger = trigger
        self.platform = RuntimePlatform(namespace)
        self.context = nuclio_sdk.Context(
            logger=logger,
            platform=self.platform,
            worker_id=worker_id,
            trigger=nuclio_sdk.TriggerInfo(trigger.kind, trigger.name),
        )
        self._loop: asyncio.AbstractEventLoop | None = None

    def init(self) -> None:
        """Run the module's ``init_context(context)`` (once)."""
        if self.handler.init_context is not None:
            self._await(self.handler.init_context(self.context))

    def call(self, event: nuclio_sdk.Event) -> Any:
        """The handler's return value for ``event``; its exceptions propagate."""
        return self._await(self.handler.handler(self.context, event))

    def terminate(self) -> None:
        """Call the termination callback the handler registered, if any (errors are logged)."""
        callback = self.platform.termination_callback
        try:
            if callback is not None:
                self._await(callback())
        except Exception:
            _log.exception("termination callback of %s failed", self.trigger.function)
        finally:
            if self._loop is not None:
                self._loop.close()
                self._loop = None

    def _await(self, value: Any) -> Any:
        if not inspect.isawaitable(value):
            return value
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(value)
