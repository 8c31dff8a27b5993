"""What the Nuclio glue of every modelmon function asks of the platform and its events.

The deployable handlers (``controller/``, ``writer/``, ``apps/``, ``functions/``) stay thin: they register a
shutdown hook, walk an event's records and turn a body into bytes the same way, here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from modelmon.events.envelope import Body

__all__ = ["Body", "Delivery", "Position", "body_bytes", "each_record", "on_shutdown"]

#: Where a record sits in its stream: ``(shard, sequence)``.
Position = tuple[int, int]


def on_shutdown(context: Any, callback: Callable[[], None]) -> None:
    """Have the platform call ``callback`` when the worker stops; a no-op where there is no such hook.

    ``nuclio_sdk.test.Platform`` lacks ``set_termination_callback``; the real platform and
    ``modelmon run`` have it.
    """
    set_callback = getattr(context.platform, "set_termination_callback", None)
    if callable(set_callback):
        set_callback(callback)


def body_bytes(body: Body) -> bytes:
    """``body`` as bytes, so a record is hashed, replayed and dead-lettered as the bytes it was.

    A body Nuclio already decoded from JSON is re-encoded with sorted keys (the same dict always gives
    the same bytes); what JSON cannot hold is written as its ``str``.

    >>> body_bytes(b"{}"), body_bytes("é"), body_bytes({"b": 1, "a": [2]})
    (b'{}', b'\\xc3\\xa9', b'{"a":[2],"b":1}')
    """
    if isinstance(body, bytes):
        return body
    if isinstance(body, bytearray):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    return orjson.dumps(body, default=str, option=orjson.OPT_SORT_KEYS)


@dataclasses.dataclass(frozen=True)
class Delivery:
    """One record of an event: its body as bytes and its ``(shard, sequence)`` (``None`` outside streams)."""

    body: bytes
    position: Position | None = None


def each_record(event: Any) -> Iterator[Delivery]:
    """The records of ``event``: one, or each of the list Nuclio passes when batching is on."""
    for one in event if isinstance(event, list) else (event,):
        yield Delivery(body_bytes(one.body), _position(one))


def _position(event: Any) -> Position | None:
    """The record's stream position; ``None`` outside stream triggers (HTTP, cron, tests)."""
    shard, offset = event.shard_id, event.offset
    return (shard, offset) if isinstance(shard, int) and isinstance(offset, int) else None
