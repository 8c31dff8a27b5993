"""Many stream messages in one record: a JSON array of the messages, each exactly as it would travel alone.

Nuclio hands a stream-triggered handler one record per call, and what a call costs beyond its messages (the
trigger's read and commit, the handler's store round trips, one put of its output) is paid per record. The
controller dispatches a thousand windows of an app in the same second, and the app's writer events follow
the same way; one record per message made that fixed cost the largest part of an app's and the writer's CPU.
So the controller packs the windows of one app and one shard into one record, the app function answers a
packed record with packed writer events, and the readers take either shape:

* a record holding one message is that message's JSON object, unchanged (the format MLRun's functions write
  and read; a pack of one is never made);
* a packed record is ``[message, message, ...]``: the messages' own JSON bytes joined, so packing costs no
  encoding, and each message is read, validated and dead-lettered on its own (:func:`unpack`).

A packed record stays within :data:`PACK_BYTES`, well below V3IO's record limit; a message larger than that
travels alone, so the stream's own size rules still decide its fate.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from modelmon.backends.base import MAX_RECORD_BYTES
from modelmon.core.errors import InvalidEvent
from modelmon.core.json_text import loads_exact

T = TypeVar("T")

#: Bytes at most in one packed record: half of V3IO's 1 MB record limit leaves room for the array's commas.
PACK_BYTES = MAX_RECORD_BYTES // 2
#: Messages at most in one packed record by default: enough to make the per-record cost small, few enough that
#: the next function starts on the first results while the rest are still being computed.
PACK_MESSAGES = 100

_WHITESPACE = b" \t\r\n"


def pack(bodies: Sequence[bytes], *, max_messages: int = PACK_MESSAGES, max_bytes: int = PACK_BYTES) -> list[bytes]:
    """``bodies`` (JSON objects) as records in order: runs of up to ``max_messages`` joined into arrays of at
    most ``max_bytes``; a run of one is the message itself.

    >>> pack([b'{"a":1}', b'{"b":2}', b'{"c":3}'], max_messages=2)
    [b'[{"a":1},{"b":2}]', b'{"c":3}']
    >>> pack([b'{"a":1}', b'{"big":"..."}'], max_bytes=12)
    [b'{"a":1}', b'{"big":"..."}']
    """
    return [joined(bodies[run.start:run.stop]) for run in runs([len(b) for b in bodies], max_messages=max_messages,
                                                                 max_bytes=max_bytes)]


def runs(sizes: Sequence[int], *, max_messages: int = PACK_MESSAGES, max_bytes: int = PACK_BYTES) -> list[range]:
    """The messages of each record :func:`pack` makes of messages of ``sizes`` bytes, as ranges of their indexes.

    >>> runs([10, 10, 10], max_messages=2), runs([10, 10, 10], max_bytes=25)
    ([range(0, 2), range(2, 3)], [range(0, 2), range(2, 3)])
    """
    if max_messages < 1:
        raise ValueError(f"max_messages={max_messages}: must be at least 1")
    out: list[range] = []
    first, size = 0, 2  # the brackets
    for index, length in enumerate(sizes):
        if index > first and (index - first >= max_messages or size + 1 + length > max_bytes):
            out.append(range(first, index))
            first, size = index, 2
        size += length + (1 if index > first else 0)
    if first < len(sizes):
        out.append(range(first, len(sizes)))
    return out


def joined(run: Sequence[bytes]) -> bytes:
    """One record of ``run``: the message itself, or the array of them."""
    return run[0] if len(run) == 1 else b"[" + b",".join(run) + b"]"


def is_packed(body: bytes) -> bool:
    """Whether ``body`` is a packed record (a JSON array) rather than one message.

    >>> is_packed(b' [{"a":1}]'), is_packed(b'{"a":1}'), is_packed(b'')
    (True, False, False)
    """
    return body.lstrip(_WHITESPACE)[:1] == b"["


@dataclasses.dataclass(frozen=True)
class Packed:
    """One message of a packed record: its place (``index`` of ``count``) and the decoded JSON ``message``."""

    index: int
    count: int
    message: Any

    @property
    def data(self) -> bytes:
        """The message as JSON bytes, what a dead letter of it keeps (encoded only then)."""
        return json.dumps(self.message, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")

    def reason(self, why: str) -> str:
        """``why`` naming this message's place, for a dead letter of this message alone."""
        return f"message {self.index + 1} of {self.count} in a packed record: {why}"


class UnreadablePack(ValueError):
    """A record that starts as a packed record but is no JSON array: the whole record is unreadable."""


def unpack(body: bytes) -> list[Packed]:
    """The messages of the packed record ``body``, in order; :class:`UnreadablePack` when it is no JSON array.

    Each message is returned as JSON decoded it (readers check it: an element that is no object is refused by
    them, alone). It is decoded as a lone message is (``modelmon.events.envelope.decode_json``): as the standard
    library reads it (:func:`~modelmon.core.json_text.loads_exact`), so numbers beyond 64 bits read as they do
    alone, and JSON's non-standard constants (``NaN``) make the record unreadable, as they make a lone message
    unreadable.

    >>> [(p.index, p.message, p.data) for p in unpack(b'[{"a":1}, 2]')]
    [(0, {'a': 1}, b'{"a":1}'), (1, 2, b'2')]
    """
    try:
        messages = loads_exact(body, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise UnreadablePack(f"packed record is not valid JSON: {exc}") from None
    if not isinstance(messages, list):
        raise UnreadablePack(f"packed record is a JSON {type(messages).__name__}, expected an array")
    count = len(messages)
    return [Packed(index, count, message) for index, message in enumerate(messages)]


def _reject_constant(name: str) -> float:
    raise ValueError(f"the record contains the non-standard JSON number {name}")


def packed_messages(body: Any) -> list[Packed] | None:
    """The messages of ``body`` when it is a packed record (bytes or text holding a JSON array, or the list
    Nuclio decoded from one), else ``None``: a lone message, read as before. :class:`UnreadablePack` when it
    starts as an array but is none.

    >>> packed_messages(b'{"a":1}') is None, [p.message for p in packed_messages([{"a": 1}]) or []]
    (True, [{'a': 1}])
    """
    if isinstance(body, list):
        return [Packed(index, len(body), message) for index, message in enumerate(body)]
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    if isinstance(body, bytes | bytearray) and is_packed(bytes(body)):
        return unpack(bytes(body))
    return None


def record_messages(body: bytes) -> list[bytes]:
    """The messages a stream record holds, as bodies: the record itself, or each message of a pack (for
    readers of a whole stream, such as tools and tests, that want every event whichever way it was sent).

    >>> record_messages(b'{"a":1}'), record_messages(b'[{"a":1},{"b":2}]')
    ([b'{"a":1}'], [b'{"a":1}', b'{"b":2}'])
    """
    packed = packed_messages(body)
    return [body] if packed is None else [p.data for p in packed]


def read_messages(packed: Sequence[Packed], read: Callable[[Any], T]) -> tuple[list[tuple[Packed, T]],
                                                                           list[tuple[str, bytes]]]:
    """Each message of a pack read by ``read`` (the reader of a lone message, raising ``InvalidEvent``), and
    the refused ones as (reason naming their place, body) for the dead-letter stream: one bad message is
    refused alone, the rest go on."""
    good: list[tuple[Packed, T]] = []
    refused: list[tuple[str, bytes]] = []
    for message in packed:
        try:
            problem = not_an_object(message.message)
            if problem is not None:
                raise InvalidEvent(problem)
            good.append((message, read(message.message)))
        except InvalidEvent as exc:
            refused.append((message.reason(exc.reason), message.data))
    return good, refused


def not_an_object(message: Any) -> str | None:
    """Why a packed ``message`` cannot be a stream message (it is no JSON object), else ``None``.

    >>> not_an_object({"kind": "window"}), not_an_object("text")
    (None, 'a JSON str, expected an object')
    """
    return None if isinstance(message, dict) else f"a JSON {type(message).__name__}, expected an object"
