"""One function running in the current process: its workers, contexts and triggers.

The supervisor runs each function's host in its own OS process (:mod:`modelmon.local_nuclio.function_process`);
tests may run a host in-process with any :class:`~modelmon.backends.base.Stream`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

import nuclio_sdk

from modelmon.backends.base import Stream
from modelmon.core.config import ENV_PROJECT
from modelmon.core.errors import ConfigError
from modelmon.local_nuclio.cron import CronTrigger
from modelmon.local_nuclio.handler import LoadedHandler
from modelmon.local_nuclio.http_trigger import HttpTrigger
from modelmon.local_nuclio.spec import FunctionSpec
from modelmon.local_nuclio.stream_trigger import StreamTrigger
from modelmon.local_nuclio.trigger import Trigger
from modelmon.local_nuclio.trigger_spec import CRON, HTTP, STREAM_KINDS, TriggerSpec
from modelmon.local_nuclio.worker import Worker


class FunctionHost:
    """Builds one context per worker, calls ``init_context`` once each, and runs the triggers.

    Stream triggers run in Nuclio's default mode: a record whose handler raised is logged and passed
    over, never delivered again (:mod:`~modelmon.local_nuclio.stream_trigger`): Nuclio has no per-record
    retry, so the runtime has none (the functions retry outages themselves, ``HandlerRetry``).
    """

    def __init__(
        self,
        spec: FunctionSpec,
        handler: LoadedHandler,
        *,
        project: str,
        logger: nuclio_sdk.Logger,
        streams: Stream | None = None,
        http_ports: Mapping[str, int] | None = None,
        retry_backoff_s: float = 0.1,
    ) -> None:
        if streams is None and any(t.kind in STREAM_KINDS for t in spec.triggers):
            raise ConfigError(f"{spec.source}: function {spec.name!r} has a stream trigger but no backend streams")
        self.spec = spec
        self.handler = handler
        self.project = project
        self.logger = logger
        self.streams = streams
        self.http_ports = dict(http_ports or {})
        self.retry_backoff_s = retry_backoff_s
        self.triggers: list[Trigger] = []
        self.fatal = threading.Event()
        self.fatal_error: BaseException | None = None

    def start(self) -> None:
        """Initialise every worker (``init_context``), then start every trigger."""
        for trigger in self.spec.triggers:
            self.triggers.append(self._build(trigger))
        for runner in self.triggers:
            runner.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop taking events, let in-flight calls finish, then call the termination callbacks."""
        for runner in self.triggers:
            runner.stop()
        deadline = time.monotonic() + timeout
        for runner in self.triggers:
            runner.join(max(0.0, deadline - time.monotonic()))
        for runner in self.triggers:
            for worker in runner.workers:
                worker.terminate()

    def info(self) -> list[dict[str, Any]]:
        return [runner.info() for runner in self.triggers]

    def _on_fatal(self, exc: BaseException) -> None:
        self.fatal_error = exc
        self.fatal.set()

    def _workers(self, trigger: TriggerSpec, count: int) -> list[Worker]:
        workers = [Worker(self.handler, trigger, i, self.logger, self.project) for i in range(count)]
        for worker in workers:
            worker.init()
        return workers

    def _build(self, trigger: TriggerSpec) -> Trigger:
        if trigger.kind == CRON:
            return CronTrigger(trigger, self._workers(trigger, 1), self._on_fatal)
        if trigger.kind == HTTP:
            port = self.http_ports.get(trigger.name, trigger.attributes.get("port", 0))
            return HttpTrigger(trigger, self._workers(trigger, trigger.num_workers), self._on_fatal, port=port)
        assert self.streams is not None  # checked in __init__
        return StreamTrigger(
            trigger, self._workers(trigger, trigger.num_workers), self._on_fatal, streams=self.streams,
            retry_backoff_s=self.retry_backoff_s, project=(self.spec.env.get(ENV_PROJECT), self.project),
        )
