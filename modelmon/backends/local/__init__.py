"""The embedded ``local`` backend: one SQLite file (WAL) plus parquet and plain files under a home.

Layout of ``<home>`` (default ``./.modelmon/``, created on first use)::

    modelmon.db   streams, KV tables, TSDB tables (SQLite, WAL mode)
    samples/      <endpoint_id>/hour=<YYYYMMDDHH>/<batch>.parquet
    objects/      artifacts and other named blobs
"""

from __future__ import annotations

from modelmon.backends.local.backend import open_local_backend

__all__ = ["open_local_backend"]
