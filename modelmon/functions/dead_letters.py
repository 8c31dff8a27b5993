"""Sending what a function cannot process to the project's dead-letter stream, with the reason.

Every function (stream, writer, apps, labels) and the local runtime's give-up path write through
:class:`DeadLetters`, so every letter names its function the same way: by the name its bundle's
``function.yaml`` gives it (``model-monitoring-stream``, an app's name), never the deployed
``<project>-<name>`` (the dead-letter stream is per project already).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from modelmon.backends.base import OutRecord, Stream
from modelmon.core.timeutil import now_ms
from modelmon.events import DeadLetter
from modelmon.functions.handling import Body, Position, body_bytes


class DeadLetters:
    """The dead-letter stream as one function writes to it (the stream is created on first use).

    ``source`` is the stream the function reads; a writer serving several streams (the local runtime)
    names the one per letter. Safe to share between threads: the local runtime's workers do.
    """

    def __init__(self, streams: Stream, path: str, function: str, *, source: str = "",
                 clock: Callable[[], int] = now_ms) -> None:
        self._streams = streams
        self._path = path
        self.function = function
        self._source = source
        self._clock = clock
        self._created = False
        self._lock = threading.Lock()

    def for_function(self, function: str) -> DeadLetters:
        """The same stream, for letters naming ``function`` instead."""
        return DeadLetters(self._streams, self._path, function, source=self._source, clock=self._clock)

    def reject(self, reason: str, body: Body, position: Position | None = None, *,
               source: str | None = None, attempts: int = 1) -> None:
        """Dead-letter ``body`` (the record at ``position`` of its stream, if any) because of ``reason``."""
        self.reject_all([(reason, body)], position, source=source, attempts=attempts)

    def reject_all(self, rejected: Sequence[tuple[str, Body]], position: Position | None = None, *,
                   source: str | None = None, attempts: int = 1, key: str | None = None) -> None:
        """Dead-letter several ``(reason, body)`` of one record in one write (the stream function rejects
        requests one by one); ``key`` partitions them (default: the function's name)."""
        if not rejected:
            return
        shard, sequence = position if position is not None else (None, None)
        now = self._clock()
        letters = [
            OutRecord(DeadLetter(source=self._source if source is None else source, reason=reason,
                                 payload=body_bytes(body), time_ms=now, shard=shard, sequence=sequence,
                                 attempts=attempts, function=self.function).to_body(),
                      partition_key=self.function if key is None else key)
            for reason, body in rejected
        ]
        self._create()
        self._streams.put_records(self._path, letters)

    def _create(self) -> None:
        if self._created:
            return
        with self._lock:
            if not self._created:
                self._streams.create(self._path, shards=1)
                self._created = True

