"""TSDB tables in SQLite: one SQL table per TSDB table, columns ``time``, the labels, then the values.

Writes follow V3IO TSDB's rule (``modelmon.backends.base.TSDB``): first write wins, and a row at or
before the latest time of its label set is dropped. Each label set's rows of a write are applied in
time order (stable), so a write stores every row after its series' latest time whatever its order.

The labels of a table are set by its first write; a later write may add labels (the rows stored before
read them as ``""``), and value columns are added as they appear. A unique index on (labels, time)
serves the latest-time lookups and the reads of some series; an index on time serves the reads of a time range
of every series (the results of one window: without it, a scan of the whole history). Reads select the range in
SQL and aggregate by step with one pandas ``groupby``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from modelmon.backends.local.database import Database
from modelmon.backends.sql_tsdb import check_aggregation, check_frame, check_table, quote
from modelmon.core.errors import NotFound

#: Bound parameters per statement: SQLite's default limit before 3.32 (999), the safe bound everywhere.
_MAX_PARAMS = 999
_PANDAS_AGG = {"count": "count", "sum": "sum", "avg": "mean", "min": "min", "max": "max", "last": "last"}


class _Meta:
    """What the registry knows of one table."""

    def __init__(self, row: tuple[int, str | None, str]) -> None:
        self.sql_name = f"tsdb_{row[0]}"
        self.labels: list[str] | None = None if row[1] is None else json.loads(row[1])
        self.columns: list[str] = json.loads(row[2])


class LocalTSDB:
    """The ``TSDB`` role on a :class:`Database` (see ``modelmon.backends.base.TSDB``)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._indexed: set[str] = set()  # tables whose time index this process made sure of

    def create_table(self, table: str) -> None:
        check_table(table)
        self._db.write(lambda conn: conn.execute("INSERT OR IGNORE INTO tsdb_tables (name) VALUES (?)", (table,)))

    def write(self, table: str, df: pd.DataFrame, labels: Sequence[str]) -> None:
        check_table(table)
        labels = [labels] if isinstance(labels, str) else list(labels)
        arrays = check_frame(table, df, labels)
        if df.empty:
            return
        names = list(arrays)
        columns = names[1 + len(labels):]
        rows = _rows(arrays, labels)

        def write(conn: sqlite3.Connection) -> None:
            meta = _meta(conn, table)
            changed = meta.labels is None or set(meta.labels) != set(labels)
            if meta.labels is None:
                meta.labels = labels
                _create_physical(conn, meta)
            elif set(meta.labels) != set(labels):
                _add_labels(conn, table, meta, labels)
            elif table not in self._indexed:  # a table made before it had a time index gets one (once)
                _create_time_index(conn, meta)
            for column in columns:
                if column not in meta.columns:
                    conn.execute(f"ALTER TABLE {meta.sql_name} ADD COLUMN {quote(column)}")
                    meta.columns.append(column)
                    changed = True
            if changed:  # the registry row only when the table's shape changed: most writes add rows only
                conn.execute(
                    "UPDATE tsdb_tables SET labels = ?, columns = ? WHERE name = ?",
                    (json.dumps(meta.labels), json.dumps(meta.columns), table),
                )
            sql_names = ", ".join(quote(name) for name in names)
            marks = ", ".join("?" * len(names))
            kept = _after_latest(conn, meta, labels, rows)
            conn.executemany(f"INSERT OR IGNORE INTO {meta.sql_name} ({sql_names}) VALUES ({marks})", kept)

        self._db.write(write)
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

        def select(conn: sqlite3.Connection) -> tuple[_Meta, list[str], list[tuple[Any, ...]]]:
            meta = _meta(conn, table)
            if meta.labels is None:
                return meta, list(columns or ()), []
            wanted = list(meta.columns if columns is None else columns)
            for column in wanted:
                if column not in meta.columns:
                    raise ValueError(f"TSDB {table!r} has no column {column!r} (it has {meta.columns})")
            where, params = _where(table, meta.labels, start, end, filters or {})
            names = ", ".join(quote(n) for n in ["time", *meta.labels, *wanted])
            order = ", ".join(quote(n) for n in [*meta.labels, "time"])
            sql = f"SELECT {names} FROM {meta.sql_name} WHERE {where} ORDER BY {order}"
            return meta, wanted, conn.execute(sql, params).fetchall()

        meta, wanted, rows = self._db.read(select)
        labels = meta.labels or []
        frame = pd.DataFrame.from_records(rows, columns=["time", *labels, *wanted])
        frame["time"] = frame["time"].astype("int64")
        for column in wanted:
            frame[column] = pd.to_numeric(frame[column])
        if not aggregators:
            return frame
        return _aggregate(frame, labels, wanted, start, (end - start) if step is None else step, aggregators)

    def close(self) -> None:
        self._db.close()


def _aggregate(
    frame: pd.DataFrame, labels: list[str], columns: list[str], start: int, step: int, aggregators: Sequence[str]
) -> pd.DataFrame:
    """One row per label set and bucket ``[start + k*step, start + (k+1)*step)``; ``time`` = bucket start."""
    out_columns = [f"{agg}({column})" for agg in aggregators for column in columns]
    if frame.empty:
        return pd.DataFrame({name: pd.Series(dtype="int64" if name == "time" else "float64")
                             for name in ["time", *labels, *out_columns]})
    frame = frame.assign(time=start + (frame["time"] - start) // step * step)
    grouped = frame.groupby([*labels, "time"], sort=True)[columns]
    parts = []
    for agg in aggregators:
        part = grouped.agg(_PANDAS_AGG[agg])
        part.columns = [f"{agg}({column})" for column in columns]
        parts.append(part)
    result = pd.concat(parts, axis=1).reset_index()
    return result[["time", *labels, *out_columns]]


def _rows(arrays: Mapping[str, npt.NDArray[Any]], labels: list[str]) -> list[tuple[Any, ...]]:
    """The rows (time, labels, values) of :func:`_check_frame`'s arrays as SQLite values (labels as text,
    booleans as 0/1), each series (label set) in time order, rows of equal time in their given order."""
    parts: list[list[Any]] = []
    for name, values in arrays.items():
        if name in labels:
            parts.append([str(value) for value in values.tolist()])
        else:
            parts.append((values.astype(np.int64) if values.dtype == np.bool_ else values).tolist())
    rows = list(zip(*parts, strict=True))
    rows.sort(key=lambda row: (*row[1:1 + len(labels)], row[0]))  # stable
    return rows


def _where(
    table: str, labels: list[str], start: int, end: int, filters: Mapping[str, str | Sequence[str]]
) -> tuple[str, list[int | str]]:
    clauses = ["time >= ?", "time < ?"]
    params: list[int | str] = [int(start), int(end)]
    for label, value in filters.items():
        if label not in labels:
            raise ValueError(f"TSDB {table!r}: cannot filter on {label!r}, the labels are {labels}")
        values = [value] if isinstance(value, str) else list(value)
        clauses.append(f"{quote(label)} IN ({', '.join('?' * len(values))})" if values else "0")
        params.extend(str(v) for v in values)
    return " AND ".join(clauses), params


def _after_latest(conn: sqlite3.Connection, meta: _Meta, labels: list[str],
                  rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The rows (time, labels, values; each label set in time order) later than their label set's
    latest time, stored or earlier in ``rows``: V3IO TSDB drops the others."""
    assert meta.labels is not None
    others = [label for label in meta.labels if label not in labels]  # labels this write does not set
    latest = _latest_times(conn, meta, labels, others, list(dict.fromkeys(tuple(row[1:1 + len(labels)])
                                                                          for row in rows)))
    kept = []
    for row in rows:
        key = tuple(row[1:1 + len(labels)])
        stored = latest.get(key)
        if stored is None or row[0] > stored:
            kept.append(row)
            latest[key] = row[0]
    return kept


def _latest_times(conn: sqlite3.Connection, meta: _Meta, labels: list[str], others: list[str],
                  keys: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], int | None]:
    """The latest stored time of each label set (``labels`` = ``keys``, ``others`` empty): one query per
    chunk of label sets, each an index lookup, instead of one query per series."""
    names = [f"v{i}" for i in range(len(labels))]
    where = " AND ".join([*(f"t.{quote(label)} = v.{name}" for label, name in zip(labels, names, strict=True)),
                          *(f"t.{quote(label)} = ''" for label in others)])
    chunk = max(1, _MAX_PARAMS // max(1, len(labels)))
    latest: dict[tuple[Any, ...], int | None] = {}
    for at in range(0, len(keys), chunk):
        part = keys[at:at + chunk]
        values = ", ".join(f"({', '.join('?' * len(labels))})" for _ in part)
        sql = (f"WITH v({', '.join(names)}) AS (VALUES {values}) "
               f"SELECT {', '.join(f'v.{name}' for name in names)}, "
               f"(SELECT MAX(t.time) FROM {meta.sql_name} AS t WHERE {where}) FROM v")
        for *found, time in conn.execute(sql, [value for key in part for value in key]):
            latest[tuple(found)] = time
    return latest


def _add_labels(conn: sqlite3.Connection, table: str, meta: _Meta, labels: list[str]) -> None:
    """Widen the table to a write that adds labels: rows stored before have them as ``""``."""
    assert meta.labels is not None
    missing = [label for label in meta.labels if label not in labels]
    if missing:
        raise ValueError(f"TSDB {table!r} has labels {meta.labels}; this write uses {labels} (without {missing})")
    for label in labels:
        if label not in meta.labels:
            if label in meta.columns:
                raise ValueError(f"TSDB {table!r}: {label!r} is a value column, it cannot become a label")
            conn.execute(f"ALTER TABLE {meta.sql_name} ADD COLUMN {quote(label)} TEXT NOT NULL DEFAULT ''")
            meta.labels.append(label)
    conn.execute(f"DROP INDEX IF EXISTS {meta.sql_name}_key")
    _create_physical(conn, meta)


def _meta(conn: sqlite3.Connection, table: str) -> _Meta:
    row = conn.execute("SELECT id, labels, columns FROM tsdb_tables WHERE name = ?", (table,)).fetchone()
    if row is None:
        raise NotFound(f"TSDB table {table!r} does not exist (call create_table first)")
    return _Meta(row)


def _create_physical(conn: sqlite3.Connection, meta: _Meta) -> None:
    assert meta.labels is not None
    label_defs = "".join(f", {quote(label)} TEXT NOT NULL" for label in meta.labels)
    conn.execute(f"CREATE TABLE IF NOT EXISTS {meta.sql_name} (time INTEGER NOT NULL{label_defs})")
    keys = ", ".join(quote(n) for n in [*meta.labels, "time"])
    conn.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {meta.sql_name}_key ON {meta.sql_name} ({keys})")
    _create_time_index(conn, meta)


def _create_time_index(conn: sqlite3.Connection, meta: _Meta) -> None:
    conn.execute(f"CREATE INDEX IF NOT EXISTS {meta.sql_name}_time ON {meta.sql_name} (time)")
