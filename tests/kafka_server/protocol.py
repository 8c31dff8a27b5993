"""Kafka's primitive wire types: a :class:`Reader` and a :class:`Writer` that know whether the message is flexible.

Kafka encodes each API version either "classic" (int16-length strings, int32-length arrays) or "flexible"
(KIP-482: unsigned-varint lengths stored plus one, and a tagged-field section closing every struct). Handlers
read and write fields in schema order and call :meth:`Reader.tags` / :meth:`Writer.tags` where a struct ends,
so one handler body serves both encodings and the flexibility is decided once, from the negotiated version.
"""

from __future__ import annotations

import builtins
import struct
import uuid
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")

_I8 = struct.Struct(">b")
_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_U32 = struct.Struct(">I")
_I64 = struct.Struct(">q")

NULL_UUID = uuid.UUID(int=0)


class ProtocolError(ValueError):
    """A request that cannot be decoded: the broker closes the connection, as Kafka does."""


class Reader:
    """Reads fields from one message body; every read checks the bounds, so a short body raises."""

    def __init__(self, data: bytes | memoryview, flex: bool = False, pos: int = 0) -> None:
        self.data = memoryview(data)
        self.flex = flex
        self.pos = pos

    def _take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise ProtocolError(f"message ends after {len(self.data)} bytes, wanted {n} more at {self.pos}")
        view = self.data[self.pos : self.pos + n]
        self.pos += n
        return view

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def int8(self) -> int:
        return int(_I8.unpack(self._take(1))[0])

    def bool(self) -> bool:
        return self.int8() != 0

    def int16(self) -> int:
        return int(_I16.unpack(self._take(2))[0])

    def int32(self) -> int:
        return int(_I32.unpack(self._take(4))[0])

    def uint32(self) -> int:
        return int(_U32.unpack(self._take(4))[0])

    def int64(self) -> int:
        return int(_I64.unpack(self._take(8))[0])

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(bytes=bytes(self._take(16)))

    def uvarint(self) -> int:
        value = shift = 0
        while True:
            byte = self._take(1)[0]
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
            if shift > 63:
                raise ProtocolError("varint longer than 10 bytes")

    def varint(self) -> int:
        """A zig-zag signed varint (record fields use these for int32 and int64 alike)."""
        raw = self.uvarint()
        return (raw >> 1) ^ -(raw & 1)

    def _length(self) -> int:
        """A string/bytes/array length; -1 is null in both encodings."""
        if self.flex:
            return self.uvarint() - 1
        return self.int32()

    def nullable_string(self) -> str | None:
        n = self.uvarint() - 1 if self.flex else self.int16()
        if n < 0:
            return None
        try:
            return builtins.bytes(self._take(n)).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"string is not UTF-8: {exc}") from None

    def string(self) -> str:
        value = self.nullable_string()
        if value is None:
            raise ProtocolError("null where a string is required")
        return value

    def nullable_bytes(self) -> builtins.bytes | None:
        n = self._length()
        return None if n < 0 else builtins.bytes(self._take(n))

    def bytes(self) -> builtins.bytes:
        return self.nullable_bytes() or b""

    def nullable_array(self, item: Callable[[], T]) -> list[T] | None:
        n = self._length()
        if n < 0:
            return None
        if n > self.remaining():  # each item takes at least one byte: a huge count is garbage
            raise ProtocolError(f"array of {n} items in {self.remaining()} bytes")
        return [item() for _ in range(n)]

    def array(self, item: Callable[[], T]) -> list[T]:
        return self.nullable_array(item) or []

    def tags(self) -> dict[int, builtins.bytes]:
        """The tagged-field section closing a flexible struct; unknown tags are kept raw, as Kafka skips them."""
        if not self.flex:
            return {}
        fields = {}
        for _ in range(self.uvarint()):
            tag = self.uvarint()
            fields[tag] = builtins.bytes(self._take(self.uvarint()))
        return fields


class Writer:
    """Builds one message body; :meth:`tags` writes an empty tagged-field section when flexible."""

    def __init__(self, flex: bool = False) -> None:
        self.buf = bytearray()
        self.flex = flex

    def getvalue(self) -> bytes:
        return bytes(self.buf)

    def int8(self, v: int) -> Writer:
        self.buf += _I8.pack(v)
        return self

    def bool(self, v: bool) -> Writer:
        return self.int8(1 if v else 0)

    def int16(self, v: int) -> Writer:
        self.buf += _I16.pack(v)
        return self

    def int32(self, v: int) -> Writer:
        self.buf += _I32.pack(v)
        return self

    def int64(self, v: int) -> Writer:
        self.buf += _I64.pack(v)
        return self

    def uuid(self, v: uuid.UUID) -> Writer:
        self.buf += v.bytes
        return self

    def uvarint(self, v: int) -> Writer:
        self.buf += encode_uvarint(v)
        return self

    def _length(self, n: int) -> None:
        if self.flex:
            self.uvarint(n + 1)
        else:
            self.int32(n)

    def string(self, v: str | None) -> Writer:
        if v is None:
            if self.flex:
                return self.uvarint(0)
            return self.int16(-1)
        raw = v.encode("utf-8")
        if self.flex:
            self.uvarint(len(raw) + 1)
        else:
            self.int16(len(raw))
        self.buf += raw
        return self

    def bytes(self, v: builtins.bytes | None) -> Writer:
        if v is None:
            self._length(-1)
        else:
            self._length(len(v))
            self.buf += v
        return self

    def array(self, items: Iterable[T] | None, item: Callable[[T], object]) -> Writer:
        if items is None:
            self._length(-1)
            return self
        items = list(items)
        self._length(len(items))
        for each in items:
            item(each)
        return self

    def int32_array(self, items: Iterable[int]) -> Writer:
        return self.array(items, self.int32)

    def tags(self, fields: dict[int, builtins.bytes] | None = None) -> Writer:
        if not self.flex:
            return self
        fields = fields or {}
        self.uvarint(len(fields))
        for tag in sorted(fields):
            self.uvarint(tag).uvarint(len(fields[tag]))
            self.buf += fields[tag]
        return self


def encode_uvarint(v: int) -> bytes:
    if v < 0:
        raise ValueError(f"unsigned varint cannot hold {v}")
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def encode_varint(v: int) -> bytes:
    """Zig-zag encode a signed 64-bit value."""
    return encode_uvarint((v << 1) ^ (v >> 63))
