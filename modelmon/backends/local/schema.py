"""The tables of the local store's SQLite file, and the version that marks a file as a modelmon store.

A file without the ``modelmon_meta`` table (but with other tables) belongs to someone else; a file with
a ``schema_version`` newer than :data:`SCHEMA_VERSION` (or unknown) was written by an incompatible modelmon.
Both are refused with ``CorruptStore``. An older version is migrated forward when the file is opened, one
step of :data:`MIGRATIONS` at a time, inside the transaction that creates the tables.
"""

from __future__ import annotations

SCHEMA_VERSION = 2
META_TABLE = "modelmon_meta"


def _rename_last(column: str, old: str, new: str) -> str:
    """SQL setting ``column`` (a project path ``users/pipelines/<project>/monitoring-apps/<old>``) to end in
    ``new`` instead; project names hold no '/', so the pattern matches one project folder."""
    return (f"{column} = substr({column}, 1, length({column}) - {len(old)}) || '{new}' "
            f"WHERE {column} GLOB 'users/pipelines/*/monitoring-apps/{old}'")


#: version -> the statements that bring a store of that version to the next one.
#: 1 -> 2: modelmon's tables leave MLRun's paths (``modelmon.core.paths``): the latest-results KV table
#: ``app-results`` (MLRun's results TSDB) becomes ``app-results-latest``; the metric history TSDB
#: ``metrics`` (MLRun's metrics TSDB, other columns) becomes ``metrics-history``. TSDB tables are renamed in
#: their registry: their rows stay in the same SQL table.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (f"UPDATE kv SET {_rename_last('tbl', 'app-results', 'app-results-latest')}",
        f"UPDATE tsdb_tables SET {_rename_last('name', 'metrics', 'metrics-history')}"),
}

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
