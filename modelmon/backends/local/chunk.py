"""The compact encoding of one put's records for one shard: a single blob instead of a row per record.

Layout (little-endian)::

    b"MMC1" | count: u32 | key lengths: count × i32 (-1 = no key) | data lengths: count × u32
    | keys (UTF-8, concatenated) | data (concatenated)

>>> keys, data = decode(encode([b"a", b"bc"], ["k", None]))
>>> keys, data
(['k', None], [b'a', b'bc'])
"""

from __future__ import annotations

import array
import itertools
import struct
import sys
from collections.abc import Sequence

from modelmon.core.errors import CorruptStore

_MAGIC = b"MMC1"
_HEADER = struct.Struct("<4sI")
_LITTLE = sys.byteorder == "little"


def encode(data: Sequence[bytes], keys: Sequence[str | None]) -> bytes:
    """One blob holding ``data[i]`` with partition key ``keys[i]``."""
    key_bytes = [b"" if key is None else key.encode() for key in keys]
    key_lens = array.array("i", [-1 if key is None else len(raw) for key, raw in zip(keys, key_bytes, strict=True)])
    data_lens = array.array("I", map(len, data))
    if not _LITTLE:
        key_lens.byteswap()
        data_lens.byteswap()
    return b"".join(
        (_HEADER.pack(_MAGIC, len(data)), key_lens.tobytes(), data_lens.tobytes(), *key_bytes, *data)
    )


def decode(blob: bytes) -> tuple[list[str | None], list[bytes]]:
    """The partition keys and data of a blob made by :func:`encode`."""
    try:
        magic, count = _HEADER.unpack_from(blob)
        if magic != _MAGIC:
            raise ValueError(f"bad magic {magic!r}")
        pos = _HEADER.size
        key_lens = array.array("i")
        key_lens.frombytes(blob[pos : pos + 4 * count])
        pos += 4 * count
        data_lens = array.array("I")
        data_lens.frombytes(blob[pos : pos + 4 * count])
        pos += 4 * count
        if not _LITTLE:
            key_lens.byteswap()
            data_lens.byteswap()
        view = memoryview(blob)
        keys: list[str | None] = []
        for length in key_lens:
            if length < 0:
                keys.append(None)
            else:
                keys.append(str(view[pos : pos + length], "utf-8"))
                pos += length
        ends = list(itertools.accumulate(data_lens, initial=pos))
        if ends[-1] != len(blob):
            raise ValueError(f"expected {ends[-1]} bytes, found {len(blob)}")
        data = [blob[start:end] for start, end in itertools.pairwise(ends)]
    except (ValueError, struct.error, UnicodeDecodeError) as exc:
        raise CorruptStore(f"stream chunk cannot be decoded: {exc}") from exc
    return keys, data
