"""Sending what a function cannot process to the project's dead-letter stream, with the reason.

Every function (stream, writer, apps, labels) and the local runtime's give-up path write through
:class:`DeadLetters`, so every letter names its function the same way: by the name its bundle's
``function.yaml`` gives it (``model-monitoring-stream``, an app's name), never the deployed
``<project>-<name>`` (the dead-letter stream is per project already).

Every letter fits a stream record, whatever its payload (:class:`~modelmon.events.DeadLetter` keeps an
excerpt, the size and a digest of a large one), and a producer that meets a record too large for any
stream dead-letters it here instead of retrying it (:meth:`DeadLetters.put_or_reject`).
"""

from __future__ import annotations

import collections
import hashlib
import threading
from collections.abc import Callable, Sequence

from modelmon.backends.base import OutRecord, PutIncomplete, Stream, oversize
from modelmon.core.timeutil import now_ms
from modelmon.events import DeadLetter
from modelmon.functions.handling import Body, Position, body_bytes

#: Letters a partly failed put stored, remembered so that the caller's retry does not store them twice.
_REMEMBERED = 4096


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
        self._stored: collections.OrderedDict[bytes, None] = collections.OrderedDict()

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
        requests one by one); ``key`` partitions them (default: the function's name).

        If the write fails after storing some letters (:class:`~modelmon.backends.base.PutIncomplete`),
        those are remembered: when the caller tries again with the same letters, only the others are sent.
        """
        if not rejected:
            return
        shard, sequence = position if position is not None else (None, None)
        source = self._source if source is None else source
        now = self._clock()
        payloads = [(reason, body_bytes(body)) for reason, body in rejected]
        idents = [_identity(source, position, reason, payload) for reason, payload in payloads]
        with self._lock:
            todo = [i for i, ident in enumerate(idents) if ident not in self._stored]
        letters = [
            OutRecord(DeadLetter(source=source, reason=payloads[i][0], payload=payloads[i][1], time_ms=now,
                                 shard=shard, sequence=sequence, attempts=attempts,
                                 function=self.function).to_body(),
                      partition_key=self.function if key is None else key)
            for i in todo
        ]
        self._create()
        try:
            if letters:
                self._streams.put_records(self._path, letters)
        except PutIncomplete as exc:
            with self._lock:
                for i, placed in zip(todo, exc.placed, strict=True):
                    if placed is not None:
                        self._remember(idents[i])
            raise
        with self._lock:
            for ident in idents:
                self._stored.pop(ident, None)

    def put_or_reject(self, path: str, records: Sequence[OutRecord], *,
                      resends: int = 0) -> list[tuple[int, int] | None]:
        """Put ``records`` on ``path``, except those too large for any stream: each of those is dead-lettered
        (``source`` = ``path``) with the reason and never retried. Returns each record's position, ``None``
        for a dead-lettered one.

        A put that stores some records and then fails is tried ``resends`` more times with only the records
        not stored; then its :class:`~modelmon.backends.base.PutIncomplete` (placed = all stored so far) or
        any other error is raised.
        """
        placed: list[tuple[int, int] | None] = [None] * len(records)
        refused = []
        todo = []
        for index, record in enumerate(records):
            problem = oversize(record)
            if problem is None:
                todo.append(index)
                continue
            size, limit, what = problem
            refused.append((f"record of {size:,} bytes of {what} is over the limit of {limit:,} bytes per stream "
                            f"record: it cannot be put on {path}", record.data))
        if refused:
            self.reject_all(refused, source=path)
        while todo:
            try:
                stored = self._streams.put_records(path, [records[i] for i in todo])
            except PutIncomplete as exc:
                for index, position in zip(todo, exc.placed, strict=True):
                    placed[index] = position
                todo = [index for index in todo if placed[index] is None]
                if resends <= 0:
                    raise PutIncomplete.after(path, placed, exc) from exc
                resends -= 1
                continue
            for index, position in zip(todo, stored, strict=True):
                placed[index] = position
            todo = []
        return placed

    def _remember(self, ident: bytes) -> None:
        self._stored[ident] = None
        while len(self._stored) > _REMEMBERED:
            self._stored.popitem(last=False)

    def _create(self) -> None:
        if self._created:
            return
        with self._lock:
            if not self._created:
                self._streams.create(self._path, shards=1)
                self._created = True


def _identity(source: str, position: Position | None, reason: str, payload: bytes) -> bytes:
    """What makes a letter the same letter when its write is tried again (not its time)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{source}\0{position}\0{reason}\0".encode(errors="replace"))
    digest.update(payload)
    return digest.digest()
