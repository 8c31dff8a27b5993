"""Opening the ``local`` backend: the five roles over one SQLite file and the files under a home."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable

from modelmon.backends.base import Backend
from modelmon.backends.local.database import Database
from modelmon.backends.local.kv import LocalKV
from modelmon.backends.local.objects import LocalObjectStore
from modelmon.backends.local.samples import LocalSampleStore
from modelmon.backends.local.streams import LocalStream
from modelmon.backends.local.tsdb import LocalTSDB
from modelmon.core.errors import CorruptStore
from modelmon.core.timeutil import now_ms

DB_FILE = "modelmon.db"


def open_local_backend(
    home: str | os.PathLike[str], *, timeout_s: float = 30.0, clock: Callable[[], int] | None = None
) -> Backend:
    """The local backend rooted at ``home``, created on first use.

    ``timeout_s`` bounds how long a call waits for other processes' writes before
    ``BackendUnavailable``; ``clock`` (epoch ms) drives stream arrival times and retention.
    """
    root = pathlib.Path(home)
    if root.exists() and not root.is_dir():
        raise CorruptStore(f"{root}: modelmon home is a file, expected a directory")
    root.mkdir(parents=True, exist_ok=True)
    db = Database(root / DB_FILE, timeout_s=timeout_s)
    return Backend(
        name="local",
        streams=LocalStream(db, clock=clock or now_ms),
        kv=LocalKV(db),
        tsdb=LocalTSDB(db),
        samples=LocalSampleStore(root / "samples"),
        objects=LocalObjectStore(root / "objects"),
    )
