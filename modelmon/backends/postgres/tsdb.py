"""TSDB tables on PostgreSQL: one SQL table per TSDB table (``modelmon_tsdb_<id>``): ``time`` (bigint
epoch ms), the labels (text), then the values (double precision; a missing value or NaN is NULL).

Writes follow V3IO TSDB's rule (``modelmon.backends.base.TSDB``): first write wins, and a row at or
before the latest time of its label set is dropped. A write locks its table's registry row, so writers
of one table take turns and the rule holds across processes; it sends all its rows as arrays in one
``INSERT … SELECT FROM unnest(…)`` that keeps only the rows after their series' latest time (an index
lookup per series on the unique index over (labels, time)). With TimescaleDB installed in the database,
each table is a hypertable on ``time`` (one-day chunks). Step aggregation runs in SQL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from modelmon.backends.postgres.database import Connection, Database
from modelmon.backends.sql_tsdb import check_aggregation, check_frame, check_table, quote
from modelmon.core.errors import NotFound

#: TimescaleDB chunk length for the integer ``time`` column: one day of epoch milliseconds.
CHUNK_MS = 86_400_000
_SQL_AGG = {"count": "count({c})", "sum": "COALESCE(sum({c}), 0)", "avg": "avg({c})", "min": "min({c})",
            "max": "max({c})", "last": '(array_agg({c} ORDER BY "time" DESC) FILTER (WHERE {c} IS NOT NULL))[1]'}


class _Meta:
    """What the registry knows of one table."""

    def __init__(self, row: tuple[Any, ...]) -> None:
        self.id = int(row[0])
        self.sql_name = f"modelmon_tsdb_{self.id}"
        self.labels: list[str] | None = None if row[1] is None else list(row[1])
        self.columns: list[str] = list(row[2])


class PostgresTSDB:
    """The ``TSDB`` role on a :class:`Database` (see ``modelmon.backends.base.TSDB``)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._indexed: set[str] = set()  # tables whose time index this process made sure of

    def create_table(self, table: str) -> None:
        check_table(table)
        self._db.run(lambda conn: conn.execute(
            "INSERT INTO modelmon_tsdb_tables (name) VALUES (%s) ON CONFLICT (name) DO NOTHING", (table,)))

    def write(self, table: str, df: pd.DataFrame, labels: Sequence[str]) -> None:
        check_table(table)
        labels = [labels] if isinstance(labels, str) else list(labels)
        check_frame(table, df, labels)
        frame = df
        if frame.empty:
            return
        columns = [c for c in frame.columns if c != "time" and c not in labels]
        arrays = _arrays(frame, labels, columns)

        def write(conn: Connection) -> None:
            meta = _meta(conn, table, lock=True)
            changed = meta.labels is None
            if meta.labels is None:
                meta.labels = list(labels)
                _create_physical(conn, meta, self._db.timescale)
            elif set(meta.labels) != set(labels):
                _add_labels(conn, table, meta, labels)
                changed = True
            elif table not in self._indexed and not self._db.timescale:  # made before it had a time index
                _create_time_index(conn, meta)
            for column in columns:
                if column not in meta.columns:
                    if column in meta.labels:
                        raise ValueError(f"TSDB {table!r}: {column!r} is a label, it cannot be a value column")
                    conn.execute(f"ALTER TABLE {meta.sql_name} ADD COLUMN {quote(column)} double precision")
                    meta.columns.append(column)
                    changed = True
            if changed:
                conn.execute("UPDATE modelmon_tsdb_tables SET labels = %s::jsonb, columns = %s::jsonb WHERE id = %s",
                             (json.dumps(meta.labels), json.dumps(meta.columns), meta.id))
            conn.execute(_insert_sql(meta, labels, columns), arrays)

        self._db.run(write)
        self._indexed.add(table)  # after the commit: a rolled-back index is made again

    def read(
        self,
        table: str,
        start: int,
        end: int,
        *,
        filters: Mapping[str, str | Sequence[str]] | None = None,
        columns: Sequence[str] | None = None,
        step: int | None = None,
        aggregators: Sequence[str] = (),
    ) -> pd.DataFrame:
        check_table(table)
        aggregators = check_aggregation(table, step, aggregators)
        width = (int(end) - int(start)) if step is None else step

        def select(conn: Connection) -> tuple[list[str], list[str], list[tuple[Any, ...]]]:
            meta = _meta(conn, table)
            wanted = list(meta.columns if columns is None else columns)
            if meta.labels is None:
                return [], _names([], wanted, aggregators), []
            for column in wanted:
                if column not in meta.columns:
                    raise ValueError(f"TSDB {table!r} has no column {column!r} (it has {meta.columns})")
            where, params = _where(table, meta.labels, start, end, filters or {})
            labels = [quote(label) for label in meta.labels]
            if not aggregators:
                names = ", ".join(['"time"', *labels, *(quote(c) for c in wanted)])
                order = ", ".join([*labels, '"time"'])
                sql = f"SELECT {names} FROM {meta.sql_name} WHERE {where} ORDER BY {order}"
            else:
                aggs = [_SQL_AGG[agg].format(c=quote(c)) for agg in aggregators for c in wanted]
                bucket = "(%s::bigint + (\"time\" - %s::bigint) / %s::bigint * %s::bigint)"
                params = [int(start), int(start), width, width, *params]
                sql = (f"SELECT {', '.join([f'{bucket} AS bucket', *labels, *aggs])} FROM {meta.sql_name} "
                       f"WHERE {where} GROUP BY {', '.join(['bucket', *labels])} "
                       f"ORDER BY {', '.join([*labels, 'bucket'])}")
            return meta.labels, _names(meta.labels, wanted, aggregators), conn.execute(sql, params).fetchall()

        labels, names, rows = self._db.run(select)
        frame = pd.DataFrame.from_records(rows, columns=["time", *labels, *names])
        frame["time"] = frame["time"].astype("int64")
        for name in names:
            frame[name] = pd.to_numeric(frame[name]).astype("int64" if name.startswith("count(") else "float64")
        return frame

    def close(self) -> None:
        self._db.close()


def _names(labels: list[str], columns: list[str], aggregators: Sequence[str]) -> list[str]:
    """The value columns of a read: the columns, or one ``agg(column)`` per aggregator and column."""
    return [f"{agg}({c})" for agg in aggregators for c in columns] if aggregators else list(columns)


def _insert_sql(meta: _Meta, labels: list[str], columns: list[str]) -> str:
    """The statement inserting a write's rows (arrays: time, labels, values) that come after their series'
    latest stored time; the rows are already de-duplicated on (labels, time), first kept."""
    names = [quote(n) for n in ["time", *labels, *columns]]
    types = ["bigint", *(["text"] * len(labels)), *(["double precision"] * len(columns))]
    arrays = ", ".join(f"%s::{kind}[]" for kind in types)
    keys = [quote(label) for label in labels]
    if keys:
        match = " AND ".join(f"t.{k} = k.{k}" for k in keys)
        latest = (f"m AS (SELECT {', '.join(f'k.{k}' for k in keys)}, (SELECT max(t.\"time\") FROM {meta.sql_name} "
                  f"AS t WHERE {match}) AS latest FROM (SELECT DISTINCT {', '.join(keys)} FROM v) AS k)")
        join = "JOIN m ON " + " AND ".join(f"m.{k} = v.{k}" for k in keys)
    else:
        latest = f"m AS (SELECT max(\"time\") AS latest FROM {meta.sql_name})"
        join = "CROSS JOIN m"
    return (f"WITH v AS (SELECT * FROM unnest({arrays}) AS v({', '.join(names)})), {latest} "
            f"INSERT INTO {meta.sql_name} ({', '.join(names)}) SELECT {', '.join(f'v.{n}' for n in names)} "
            f"FROM v {join} WHERE m.latest IS NULL OR v.\"time\" > m.latest ON CONFLICT DO NOTHING")


def _arrays(frame: pd.DataFrame, labels: list[str], columns: list[str]) -> list[list[Any]]:
    """The write's columns as lists for ``unnest``, each series' rows of one time reduced to the first."""
    frame = frame.drop_duplicates(subset=["time", *labels], keep="first")
    out: list[list[Any]] = [frame["time"].astype("int64").tolist()]
    out.extend([str(value) for value in frame[label].tolist()] for label in labels)
    for column in columns:
        values = pd.to_numeric(frame[column]).astype("float64").to_numpy()
        out.append([None if np.isnan(v) else v for v in values.tolist()])
    return out


def _where(table: str, labels: list[str], start: int, end: int,
           filters: Mapping[str, str | Sequence[str]]) -> tuple[str, list[Any]]:
    clauses = ['"time" >= %s', '"time" < %s']
    params: list[Any] = [int(start), int(end)]
    for label, value in filters.items():
        if label not in labels:
            raise ValueError(f"TSDB {table!r}: cannot filter on {label!r}, the labels are {labels}")
        clauses.append(f"{quote(label)} = ANY(%s::text[])")
        params.append([value] if isinstance(value, str) else [str(v) for v in value])
    return " AND ".join(clauses), params


def _meta(conn: Connection, table: str, *, lock: bool = False) -> _Meta:
    sql = "SELECT id, labels, columns FROM modelmon_tsdb_tables WHERE name = %s" + (" FOR UPDATE" if lock else "")
    row = conn.execute(sql, (table,)).fetchone()
    if row is None:
        raise NotFound(f"TSDB table {table!r} does not exist (call create_table first)")
    return _Meta(row)


def _create_physical(conn: Connection, meta: _Meta, timescale: bool) -> None:
    assert meta.labels is not None
    label_defs = "".join(f', {quote(label)} text COLLATE "C" NOT NULL' for label in meta.labels)
    conn.execute(f'CREATE TABLE IF NOT EXISTS {meta.sql_name} ("time" bigint NOT NULL{label_defs})')
    if timescale:  # its chunks by time, each with an index on time, serve reads of a time range
        conn.execute("SELECT create_hypertable(%s::regclass, 'time', chunk_time_interval => %s::bigint, "
                     "if_not_exists => true)", (meta.sql_name, CHUNK_MS))
    else:
        _create_time_index(conn, meta)
    _create_key(conn, meta)


def _create_time_index(conn: Connection, meta: _Meta) -> None:
    """An index on time: a read of a time range of every series (one window's results) reads that range, not the
    table (the key index leads with the labels)."""
    conn.execute(f'CREATE INDEX IF NOT EXISTS {meta.sql_name}_time ON {meta.sql_name} ("time")')


def _create_key(conn: Connection, meta: _Meta) -> None:
    """The unique index over (labels, time): idempotent writes, and the latest-time lookups of a series."""
    assert meta.labels is not None
    keys = ", ".join(quote(n) for n in [*meta.labels, "time"])
    conn.execute(f"DROP INDEX IF EXISTS {meta.sql_name}_key")
    conn.execute(f"CREATE UNIQUE INDEX {meta.sql_name}_key ON {meta.sql_name} ({keys})")


def _add_labels(conn: Connection, table: str, meta: _Meta, labels: list[str]) -> None:
    """Widen the table to a write that adds labels: rows stored before have them as ``""``."""
    assert meta.labels is not None
    missing = [label for label in meta.labels if label not in labels]
    if missing:
        raise ValueError(f"TSDB {table!r} has labels {meta.labels}; this write uses {labels} (without {missing})")
    for label in labels:
        if label not in meta.labels:
            if label in meta.columns:
                raise ValueError(f"TSDB {table!r}: {label!r} is a value column, it cannot become a label")
            conn.execute(
                f"ALTER TABLE {meta.sql_name} ADD COLUMN {quote(label)} text COLLATE \"C\" NOT NULL DEFAULT ''")
            meta.labels.append(label)
    _create_key(conn, meta)
