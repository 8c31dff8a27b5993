"""The tables of the local store's SQLite file, and the version that marks a file as a modelmon store.

A file without the ``modelmon_meta`` table (but with other tables) belongs to someone else; a file with
another ``schema_version`` was written by an incompatible modelmon. Both are refused with ``CorruptStore``.
"""

from __future__ import annotations

SCHEMA_VERSION = 1
META_TABLE = "modelmon_meta"

#: KV items are JSON text. TSDB tables get one SQL table each (``tsdb_<id>``), created on their first write.
#: Streams store each put's records of one shard as one compact chunk (see ``chunk.py``): one row per
#: batch instead of one per record is what makes 1 KB records fast enough.
STATEMENTS = (
    f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS streams (
        id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, shards INTEGER NOT NULL,
        retention_hours INTEGER NOT NULL, created_ms INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS stream_shards (
        stream_id INTEGER NOT NULL, shard INTEGER NOT NULL, next_seq INTEGER NOT NULL,
        PRIMARY KEY (stream_id, shard)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS stream_chunks (
        stream_id INTEGER NOT NULL, shard INTEGER NOT NULL, first_seq INTEGER NOT NULL,
        last_seq INTEGER NOT NULL, arrival_ms INTEGER NOT NULL, payload BLOB NOT NULL)""",
    "CREATE UNIQUE INDEX IF NOT EXISTS stream_chunks_pos ON stream_chunks (stream_id, shard, last_seq)",
    "CREATE INDEX IF NOT EXISTS stream_chunks_age ON stream_chunks (stream_id, arrival_ms)",
    """CREATE TABLE IF NOT EXISTS stream_offsets (
        stream_id INTEGER NOT NULL, grp TEXT NOT NULL, shard INTEGER NOT NULL, sequence INTEGER NOT NULL,
        PRIMARY KEY (stream_id, grp, shard)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS kv (
        tbl TEXT NOT NULL, key TEXT NOT NULL, item TEXT NOT NULL, PRIMARY KEY (tbl, key)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS tsdb_tables (
        id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, labels TEXT, columns TEXT NOT NULL DEFAULT '[]')""",
)
