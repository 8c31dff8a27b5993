"""The ``postgres`` backend: KV and TSDB on PostgreSQL (TimescaleDB hypertables when the extension is
there), with samples, objects and streams still on a local folder (``open_postgres_backend``).

Tables it creates in the DSN's schema (``search_path``)::

    modelmon_meta          schema version
    modelmon_kv            (tbl, key) -> item as jsonb
    modelmon_tsdb_tables   TSDB registry: name -> id, labels, value columns
    modelmon_tsdb_<id>     one table per TSDB table: time, labels, values
"""

from __future__ import annotations

from modelmon.backends.postgres.backend import open_postgres_backend

__all__ = ["open_postgres_backend"]
