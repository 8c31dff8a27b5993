"""The dead-letter record: a message a function could not process, kept with the reason.

A letter always fits one stream record (:data:`~modelmon.backends.base.MAX_RECORD_BYTES`): a payload
close to that size grows past it once escaped into JSON (or base64), so a letter that would be too large
keeps an excerpt of the payload (its first :data:`EXCERPT_BYTES` bytes) with the original size and
SHA-256 (``payload_size``, ``payload_sha256``, ``payload_truncated``), and a reason cut to
:data:`MAX_REASON_CHARS`. Those fields are optional: a letter written before them (or one that fits)
has none and reads as before, and a reader that does not know them still finds ``payload`` (the excerpt).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from typing import Any

from modelmon.backends.base import MAX_RECORD_BYTES
from modelmon.events.envelope import MessageKind, check_envelope, decode_json, encode, envelope, require

_KIND = MessageKind.DEAD_LETTER
#: How much of a payload a letter too large to store keeps (even escaped 6 bytes a byte, far below 1 MB).
EXCERPT_BYTES = 64 * 1024
#: How much of the reason such a letter keeps.
MAX_REASON_CHARS = 8 * 1024


@dataclasses.dataclass(frozen=True)
class DeadLetter:
    """``payload`` (the original bytes) from ``source`` could not be processed because of ``reason``.

    ``function`` is the name the bundle's ``function.yaml`` gives the function that gave up
    (``model-monitoring-stream``, an app's name), not its deployed ``<project>-<name>``: the letter
    reads the same whether the function or the runtime's retry path wrote it. ``shard`` and
    ``sequence`` place the record in ``source``; ``attempts`` is how often it was tried.
    A letter read back with :attr:`truncated` holds only an excerpt in ``payload``; ``payload_size``
    and ``payload_sha256`` describe the original.
    """

    source: str
    reason: str
    payload: bytes
    time_ms: int
    shard: int | None = None
    sequence: int | None = None
    attempts: int = 1
    function: str = ""
    payload_size: int | None = None
    payload_sha256: str | None = None

    @property
    def truncated(self) -> bool:
        """Whether ``payload`` is an excerpt of a larger original."""
        return self.payload_size is not None and self.payload_size != len(self.payload)

    def to_body(self) -> bytes:
        """The letter as JSON, at most ``MAX_RECORD_BYTES`` long (see the module docstring)."""
        body = self._encode(self.payload, self.reason, self.payload_size, self.payload_sha256)
        if len(body) <= MAX_RECORD_BYTES:
            return body
        reason = self.reason
        if len(reason) > MAX_REASON_CHARS:
            reason = f"{reason[:MAX_REASON_CHARS]}... ({len(reason):,} characters in all)"
        if len(self.payload) <= EXCERPT_BYTES:  # the reason alone was too long
            return self._encode(self.payload, reason, self.payload_size, self.payload_sha256)
        size = len(self.payload) if self.payload_size is None else self.payload_size
        digest = self.payload_sha256 or hashlib.sha256(self.payload).hexdigest()
        return self._encode(self.payload[:EXCERPT_BYTES], reason, size, digest)

    def _encode(self, payload: bytes, reason: str, size: int | None, digest: str | None) -> bytes:
        text, encoding = _payload_text(payload, excerpt=size is not None)
        data = {
            **envelope(_KIND),
            "source": self.source,
            "function": self.function,
            "reason": reason,
            "payload": text,
            "payload_encoding": encoding,
            "time_ms": self.time_ms,
            "shard": self.shard,
            "sequence": self.sequence,
            "attempts": self.attempts,
        }
        if size is not None:
            data.update(payload_truncated=True, payload_size=size, payload_sha256=digest)
        return encode(data)

    @classmethod
    def from_body(cls, body: bytes | str | dict[str, Any]) -> DeadLetter:
        data = decode_json(body, _KIND)
        check_envelope(data, _KIND)
        text = require(data, "payload", str, _KIND)
        if data.get("payload_encoding") == "base64":
            payload = base64.b64decode(text)
        else:
            payload = text.encode("utf-8")
        size, digest = data.get("payload_size"), data.get("payload_sha256")
        return cls(
            source=require(data, "source", str, _KIND),
            reason=require(data, "reason", str, _KIND),
            payload=payload,
            time_ms=require(data, "time_ms", int, _KIND),
            shard=data.get("shard"),
            sequence=data.get("sequence"),
            attempts=int(data.get("attempts") or 1),
            function=data.get("function") or "",
            payload_size=size if isinstance(size, int) and not isinstance(size, bool) else None,
            payload_sha256=digest if isinstance(digest, str) else None,
        )


def _payload_text(payload: bytes, *, excerpt: bool) -> tuple[str, str]:
    """``payload`` as UTF-8 text if it is, else base64; an excerpt may end inside a character (dropped)."""
    for cut in range(4 if excerpt else 1):
        try:
            return payload[:len(payload) - cut].decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            continue
    return base64.b64encode(payload).decode("ascii"), "base64"
