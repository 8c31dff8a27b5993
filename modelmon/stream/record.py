"""One stream record as the stream function receives it, and the identity that makes it idempotent."""

from __future__ import annotations

import dataclasses
import functools
import hashlib

from modelmon.functions.handling import Body, Delivery, Position, body_bytes


@dataclasses.dataclass(frozen=True)
class RawRecord:
    """The body of one stream record plus where it came from.

    ``shard`` and ``sequence`` are the record's position in its stream (Nuclio's ``event.shard_id`` and
    ``event.offset``); they are ``None`` when the record did not come from a stream (HTTP, tests).
    ``record_id`` is the producer's id of the record (the body's ``record_id``, set when it is parsed): a
    record the producer's retry stored twice has it at both positions.
    """

    body: Body
    shard: int | None = None
    sequence: int | None = None
    record_id: str | None = None

    @property
    def positioned(self) -> bool:
        """Whether the record has a stream position (then redelivery is detected by sequence number)."""
        return self.position is not None

    @property
    def position(self) -> Position | None:
        """``(shard, sequence)`` in its stream; ``None`` when it did not come from a stream."""
        if self.shard is None or self.sequence is None:
            return None
        return self.shard, self.sequence

    @property
    def batch_id(self) -> str:
        """A stable id for this record: the same record delivered again gets the same id.

        ``r{record_id}`` when the producer named the record (both copies of a re-sent record get it),
        else ``s{shard}-{sequence}`` for stream records, else ``h`` + a hash of the body.

        >>> RawRecord(b"{}", shard=2, sequence=17).batch_id
        's2-17'
        >>> RawRecord(b"{}", shard=2, sequence=17, record_id="9f1c").batch_id
        'r9f1c'
        >>> RawRecord(b"{}").batch_id == RawRecord("{}").batch_id
        True
        """
        if self.record_id is not None:
            return f"r{self.record_id}"
        if self.positioned:
            return f"s{self.shard}-{self.sequence}"
        return "h" + hashlib.sha1(self.body_bytes()).hexdigest()[:20]

    @functools.cached_property
    def _bytes(self) -> bytes:
        return body_bytes(self.body)

    def body_bytes(self) -> bytes:
        """The body as bytes (:func:`~modelmon.functions.handling.body_bytes`), encoded once per record: a
        decoded body is hashed for its batch id and copied into dead letters from the same bytes."""
        return self._bytes

    @classmethod
    def delivered(cls, delivery: Delivery) -> RawRecord:
        """The record a handler was given (:func:`~modelmon.functions.handling.each_record`)."""
        shard, sequence = delivery.position or (None, None)
        return cls(delivery.body, shard, sequence)
