"""Child-process bodies for the PostgreSQL-only multi-process tests (module-level so ``spawn`` imports them)."""

from __future__ import annotations

import pandas as pd

from modelmon.backends.postgres import open_postgres_backend

TSDB_TABLE = "projects/p/metrics"


def write_series(dsn: str, home: str, endpoint: str, writes: int, rows: int, barrier) -> None:
    """``writes`` TSDB writes of ``rows`` consecutive points each for ``endpoint``'s series, in time order."""
    backend = open_postgres_backend(dsn, home)
    barrier.wait()
    for w in range(writes):
        times = pd.Series(range(w * rows, (w + 1) * rows), dtype="int64") * 1000
        backend.tsdb.write(TSDB_TABLE, pd.DataFrame({"time": times, "endpoint_id": endpoint, "value": float(w)}),
                           ["endpoint_id"])
    backend.close()
