"""The dead-letter record: a message a function could not process, kept with the reason."""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

from modelmon.events.envelope import MessageKind, check_envelope, decode_json, encode, envelope, require

_KIND = MessageKind.DEAD_LETTER


@dataclasses.dataclass(frozen=True)
class DeadLetter:
    """``payload`` (the original bytes) from ``source`` could not be processed because of ``reason``.

    ``function`` is the name the bundle's ``function.yaml`` gives the function that gave up
    (``model-monitoring-stream``, an app's name), not its deployed ``<project>-<name>``: the letter
    reads the same whether the function or the runtime's retry path wrote it. ``shard`` and
    ``sequence`` place the record in ``source``; ``attempts`` is how often it was tried.
    """

    source: str
    reason: str
    payload: bytes
    time_ms: int
    shard: int | None = None
    sequence: int | None = None
    attempts: int = 1
    function: str = ""

    def to_body(self) -> bytes:
        try:
            text, encoding = self.payload.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = base64.b64encode(self.payload).decode("ascii"), "base64"
        return encode(
            {
                **envelope(_KIND),
                "source": self.source,
                "function": self.function,
                "reason": self.reason,
                "payload": text,
                "payload_encoding": encoding,
                "time_ms": self.time_ms,
                "shard": self.shard,
                "sequence": self.sequence,
                "attempts": self.attempts,
            }
        )

    @classmethod
    def from_body(cls, body: bytes | str | dict[str, Any]) -> DeadLetter:
        data = decode_json(body, _KIND)
        check_envelope(data, _KIND)
        text = require(data, "payload", str, _KIND)
        if data.get("payload_encoding") == "base64":
            payload = base64.b64decode(text)
        else:
            payload = text.encode("utf-8")
        return cls(
            source=require(data, "source", str, _KIND),
            reason=require(data, "reason", str, _KIND),
            payload=payload,
            time_ms=require(data, "time_ms", int, _KIND),
            shard=data.get("shard"),
            sequence=data.get("sequence"),
            attempts=int(data.get("attempts") or 1),
            function=data.get("function") or "",
        )
