"""Child-process bodies for the fsspec store tests (module-level so ``spawn`` can import them)."""

from __future__ import annotations

import hashlib

import pandas as pd

from modelmon.backends.fsspec_store import open_fsspec_stores

#: Objects big enough that a kill often lands inside a PUT (a few tens of ms each on moto).
OBJECT_BYTES = 2 * 1024 * 1024
ROWS = 50


def object_bytes(n: int) -> bytes:
    """Object ``n``'s content: its digest (checked by the reader) and then filler."""
    body = bytes([n % 251]) * (OBJECT_BYTES - 32)
    return hashlib.sha256(body).hexdigest()[:32].encode() + body


def is_whole(data: bytes) -> bool:
    return len(data) == OBJECT_BYTES and hashlib.sha256(data[32:]).hexdigest()[:32].encode() == data[:32]


def write_until_killed(url: str, storage_options: dict[str, object] | None, started) -> None:
    """Append sample batches and put big objects forever; the parent SIGKILLs us at a random instant."""
    samples, objects = open_fsspec_stores(url, storage_options)
    b = 0
    while True:
        rows = pd.DataFrame({"timestamp": 1_700_000_000_000 + b * 600_000 + pd.RangeIndex(ROWS) * 1000,
                             "batch": b, "f1": 1.0})
        samples.append("ep1", rows, f"batch-{b}")
        objects.put_object(f"blobs/{b:05d}.bin", object_bytes(b))
        b += 1
        started.set()
