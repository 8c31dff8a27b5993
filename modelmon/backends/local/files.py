"""Crash-safe file writes: a reader sees the old file or the new one, never a torn one."""

from __future__ import annotations

import os
import pathlib
import uuid
from collections.abc import Callable

TEMP_PREFIX = ".tmp-"


def write_atomically(target: pathlib.Path, data: bytes | None = None, *,
                     writer: Callable[[pathlib.Path], None] | None = None) -> None:
    """Write ``data`` (or call ``writer(temp_path)``) to a hidden temp file beside ``target``, then rename.

    The temp name starts with ``.`` so directory listings and pyarrow datasets skip it; a process killed
    before the rename leaves only such a file, never a partial ``target``.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f"{TEMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}-{target.name}")
    try:
        if writer is not None:
            writer(temp)
        else:
            with open(temp, "wb") as out:
                out.write(data or b"")
                out.flush()
                os.fsync(out.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
