"""``v3ioStream`` and ``kafka-cluster`` triggers on the configured backend's streams.

Nuclio's semantics, kept so that what passes locally passes on Nuclio: one consumer group per
trigger; worker ``i`` of ``n`` owns shards ``i, i+n, ...``; a group without a committed offset
starts at ``seekTo`` (that start is committed at once, so a restart resumes from it); one record
per handler call; the offset is committed only after the handler returned (once per page of records
and at least every 0.5 s, as Nuclio marks offsets and commits them periodically).

A handler exception is logged and the record is **not** delivered again: the trigger goes on with the
next record, and once a later record is handled its mark covers the failed one. That is Nuclio's
default mode (``explicitAckMode: disable``): ``ConsumeClaim`` in nuclio ``pkg/processor/trigger/
v3iostream/trigger.go`` and ``kafka/trigger.go`` marks a record only ``if err == nil`` and moves on either
way, and v3io-go's ``sequenceNumberHandler.markShardSequenceNumber`` keeps one number per shard, the
last marked. So a failed record that is the last one handled stays uncommitted and comes back only after
a restart. Functions keep their records themselves (:class:`~modelmon.functions.handling.HandlerRetry`).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from modelmon.backends.base import Record, Stream
from modelmon.core.errors import BackendUnavailable
from modelmon.local_nuclio.nuclio_event import stream_event
from modelmon.local_nuclio.stream_source import StreamSource, for_project, stream_source
from modelmon.local_nuclio.trigger import OnFatal
from modelmon.local_nuclio.trigger_spec import TriggerSpec
from modelmon.local_nuclio.worker import Worker

T = TypeVar("T")
_log = logging.getLogger(__name__)
Assignment = tuple[str, int]  # (stream path, shard)
COMMIT_INTERVAL_S = 0.5


class StreamTrigger:
    """Feeds each worker the records of its shards, one record per handler call."""

    def __init__(
        self,
        trigger: TriggerSpec,
        workers: list[Worker],
        on_fatal: OnFatal,
        *,
        streams: Stream,
        retry_backoff_s: float = 0.1,
        max_backoff_s: float = 2.0,
        project: tuple[str | None, str] = (None, ""),
    ) -> None:
        self.trigger = trigger
        self.workers = workers
        self.source: StreamSource = for_project(stream_source(trigger), *project)
        self.streams = streams
        self.retry_backoff_s, self.max_backoff_s = retry_backoff_s, max_backoff_s
        self._on_fatal = on_fatal
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._shards: dict[str, int] = {}
        self.delivered = self.failures = 0  # handler calls that returned / raised, for status and tests

    def start(self) -> None:
        """Create missing streams, then start one thread per worker that owns shards."""
        for path in self.source.paths:
            self.streams.create(path, shards=self.source.shards)
            self._shards[path] = self.streams.describe(path).shards
        pairs = [(path, shard) for path in self.source.paths for shard in range(self._shards[path])]
        n = len(self.workers)
        for i, worker in enumerate(self.workers):
            mine = pairs[i::n]
            if mine:
                thread = threading.Thread(
                    target=self._run, args=(worker, mine), name=f"{self.trigger.name}-{i}", daemon=True
                )
                self._threads.append(thread)
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def info(self) -> dict[str, Any]:
        return {
            "kind": self.trigger.kind, "name": self.trigger.name, "group": self.source.group,
            "paths": list(self.source.paths), "delivered": self.delivered, "failed": self.failures,
        }

    # --------------------------------------------------------------------------- consuming

    def _run(self, worker: Worker, assignments: list[Assignment]) -> None:
        try:
            positions = {a: self._backend(functools.partial(self._start_position, *a)) for a in assignments}
            while not self._stop.is_set():
                busy = False
                for path, shard in assignments:
                    if self._stop.is_set():
                        break
                    start = positions[(path, shard)]
                    positions[(path, shard)] = self._consume_page(worker, path, shard, start)
                    busy = busy or positions[(path, shard)] != start
                if not busy:
                    self._stop.wait(self.source.poll_ms / 1000)
        except _Stopping:
            return
        except BaseException as exc:
            _log.exception("stream trigger %s of %s stopped", self.trigger.name, self.trigger.function)
            self._on_fatal(exc)

    def _consume_page(self, worker: Worker, path: str, shard: int, position: int) -> int:
        """Deliver one page of records from ``position``; return the position after the last one delivered.

        A record is marked when its handler returned; the offset committed is the one after the last
        marked record: at the end of the page, and at least every :data:`COMMIT_INTERVAL_S` within it (so a
        crash redelivers at most that much work). A failed record is passed over, never marked itself.
        """
        records = self._backend(lambda: self.streams.read(path, shard, position, self.source.read_batch))
        delivered, marked, committed = position, None, None
        committed_at = time.monotonic()
        for record in records:
            if self._stop.is_set():
                break
            if self._deliver(worker, path, record):
                marked = record.sequence + 1
            delivered = record.sequence + 1
            if marked is not None and time.monotonic() - committed_at >= COMMIT_INTERVAL_S:
                self._commit(path, shard, marked)
                committed, committed_at = marked, time.monotonic()
        if marked is not None and marked != committed:
            self._commit(path, shard, marked)
        return delivered

    def _commit(self, path: str, shard: int, position: int) -> None:
        self._backend(lambda: self.streams.commit(path, self.source.group, shard, position))

    def _start_position(self, path: str, shard: int) -> int:
        committed = self.streams.committed(path, self.source.group, shard)
        if committed is not None:
            return committed
        position = self.streams.seek(path, shard, self.source.seek)
        self.streams.commit(path, self.source.group, shard, position)
        return position

    def _deliver(self, worker: Worker, path: str, record: Record) -> bool:
        """Call the handler on ``record`` once: ``True`` if it returned, ``False`` if it raised (logged only)."""
        try:
            worker.call(stream_event(self.trigger, path, self._shards[path], record))
        except Exception as exc:
            self.failures += 1
            worker.context.logger.error_with(
                "stream handler failed; the record is not delivered again", trigger=self.trigger.name,
                shard=record.shard, offset=record.sequence, error=repr(exc),
            )
            return False
        self.delivered += 1
        return True

    def _delay(self, attempt: int) -> float:
        return min(self.max_backoff_s, self.retry_backoff_s * 2.0 ** (attempt - 1))

    def _backend(self, call: Callable[[], T]) -> T:
        """``call()``, retried with backoff while the backend is unavailable (until stopped)."""
        attempt = 0
        while True:
            try:
                return call()
            except BackendUnavailable as exc:
                attempt += 1
                _log.warning("backend unavailable (%s); retrying", exc)
                if self._stop.wait(self._delay(min(attempt, 6))):
                    raise _Stopping from exc


class _Stopping(Exception):
    """Raised inside a consumer thread to unwind when stop was asked while waiting on the backend."""
