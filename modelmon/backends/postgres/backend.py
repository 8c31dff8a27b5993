"""Opening the ``postgres`` backend: KV and TSDB on PostgreSQL; streams, samples and objects on a folder.

Streams stay on the local backend's SQLite file under ``home`` until the Kafka stream backend lands
(issue 18); samples and objects are the local backend's parquet and plain files under ``home``.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable

from modelmon.backends.base import Backend
from modelmon.backends.local.backend import DB_FILE
from modelmon.backends.local.database import Database as LocalDatabase
from modelmon.backends.local.objects import LocalObjectStore
from modelmon.backends.local.samples import LocalSampleStore
from modelmon.backends.local.streams import LocalStream
from modelmon.backends.postgres.database import Database
from modelmon.backends.postgres.kv import PostgresKV
from modelmon.backends.postgres.tsdb import PostgresTSDB
from modelmon.core.errors import CorruptStore
from modelmon.core.timeutil import now_ms


def open_postgres_backend(
    dsn: str, home: str | os.PathLike[str], *, timeout_s: float = 30.0, clock: Callable[[], int] | None = None
) -> Backend:
    """The backend on the PostgreSQL database of ``dsn`` (tables created on first use) and the folder ``home``.

    ``timeout_s`` bounds how long a call waits for a connection or a lock before ``BackendUnavailable``;
    ``clock`` (epoch ms) drives stream arrival times and retention.
    """
    root = pathlib.Path(home)
    if root.exists() and not root.is_dir():
        raise CorruptStore(f"{root}: modelmon home is a file, expected a directory")
    db = Database(dsn, timeout_s=timeout_s)
    root.mkdir(parents=True, exist_ok=True)
    return Backend(
        name="postgres",
        streams=LocalStream(LocalDatabase(root / DB_FILE, timeout_s=timeout_s), clock=clock or now_ms),
        kv=PostgresKV(db),
        tsdb=PostgresTSDB(db),
        samples=LocalSampleStore(root / "samples"),
        objects=LocalObjectStore(root / "objects"),
    )
