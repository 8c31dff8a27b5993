"""Sending a message a function cannot read to the project's dead-letter stream, with the reason."""

from __future__ import annotations

from modelmon.backends.base import OutRecord, Stream
from modelmon.events import DeadLetter


class DeadLetters:
    """The dead-letter stream as one function writes to it (the stream is created on first use)."""

    def __init__(self, streams: Stream, path: str, function: str) -> None:
        self._streams = streams
        self._path = path
        self._function = function
        self._created = False

    def send(self, *, source: str, reason: str, payload: bytes, time_ms: int,
             shard: int | None = None, sequence: int | None = None) -> None:
        letter = DeadLetter(source=source, reason=reason, payload=payload, time_ms=time_ms, shard=shard,
                            sequence=sequence, function=self._function)
        if not self._created:
            self._streams.create(self._path, shards=1)
            self._created = True
        self._streams.put_records(self._path, [OutRecord(letter.to_body(), partition_key=self._function)])
