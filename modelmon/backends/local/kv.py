"""KV tables in SQLite: one row per (table, key), the item stored as JSON text.

A conditional update reads, checks and writes the item inside one ``BEGIN IMMEDIATE`` transaction,
which holds the database's write lock: concurrent compare-and-set calls from any process serialise,
and exactly one of several racing on the same old value wins.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import orjson

from modelmon.backends.base import Cond, Condition, Item, Op, Update
from modelmon.backends.conditions import check_condition, matches
from modelmon.backends.kv_checks import check_key, check_scan, check_table, normalise_item
from modelmon.backends.local.database import Database
from modelmon.core.json_text import loads_exact

_SCAN_CHUNK = 500
_UPSERT = "INSERT INTO kv (tbl, key, item) VALUES (?, ?, ?) ON CONFLICT (tbl, key) DO UPDATE SET item = excluded.item"


class LocalKV:
    """The ``KV`` role on a :class:`Database` (see ``modelmon.backends.base.KV``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def put(self, table: str, key: str, item: Mapping[str, Any]) -> None:
        check_key(table, key)
        text = _dumps(table, key, item)
        self._db.write(
            lambda conn: conn.execute(
                _UPSERT,
                (table, key, text),
            )
        )

    def update(
        self,
        table: str,
        key: str,
        set_: Mapping[str, Any] | None = None,
        *,
        increment: Mapping[str, int | float] | None = None,
        condition: Condition = (),
        create: bool = True,
    ) -> bool:
        change = _Change.checked(table, key, set_, increment, condition, create)

        def update(conn: sqlite3.Connection) -> bool:
            new = change.applied(_load(conn, table, key))
            if new is not None:
                conn.execute(_UPSERT, (table, key, _encode(new)))
            return new is not None

        return self._db.write(update)

    def update_many(self, table: str, updates: Sequence[Update]) -> list[bool]:
        """All of ``updates`` in one write transaction (see ``KV.update_many``)."""
        if updates:
            check_table(table)  # once: each update's key is checked alone
        changes = [_Change.checked(table, u.key, u.set_, None, u.condition, u.create, table_checked=True)
                   for u in updates]
        if not changes:
            return []

        def update(conn: sqlite3.Connection) -> list[bool]:
            items = _load_many(conn, table, [change.key for change in changes])  # one read for the batch
            applied, rows = [], []
            for change in changes:
                old = items.get(change.key)
                new = change.applied(old)
                applied.append(new is not None)
                if new is not None and new != old:  # an update that changes nothing is not written again
                    items[change.key] = new  # a later update of the same key sees this one
                    rows.append((table, change.key, _encode(new)))
            conn.executemany(_UPSERT, rows)  # in order: the last row of a key is its final item
            return applied

        return self._db.write(update)

    def get(self, table: str, key: str) -> Item | None:
        check_key(table, key)
        return self._db.read(lambda conn: _load(conn, table, key))

    def get_many(self, table: str, keys: Sequence[str]) -> dict[str, Item]:
        """The items of ``keys`` that exist, in one read transaction (:func:`~modelmon.backends.base.get_many`)."""
        for key in keys:
            check_key(table, key)
        return self._db.read(lambda conn: _load_many(conn, table, list(keys)))

    def scan(
        self, table: str, *, condition: Condition = (), limit: int = 1000, marker: str | None = None
    ) -> tuple[list[tuple[str, Item]], str | None]:
        check_table(table)
        conds = check_condition(condition)
        check_scan(table, limit, marker)

        def scan(conn: sqlite3.Connection) -> tuple[list[tuple[str, Item]], str | None]:
            page: list[tuple[str, Item]] = []
            after = marker
            while True:
                sql = "SELECT key, item FROM kv WHERE tbl = ?" + ("" if after is None else " AND key > ?")
                params: tuple[Any, ...] = (table,) if after is None else (table, after)
                rows = conn.execute(sql + " ORDER BY key LIMIT ?", (*params, _SCAN_CHUNK)).fetchall()
                for key, text in rows:
                    after = key
                    item = _loads(text)
                    if not conds or matches(item, conds):
                        page.append((key, item))
                        if len(page) == limit:
                            more = conn.execute(
                                "SELECT 1 FROM kv WHERE tbl = ? AND key > ? LIMIT 1", (table, key)
                            ).fetchone()
                            return page, (key if more else None)
                if len(rows) < _SCAN_CHUNK:
                    return page, None

        return self._db.read(scan)

    def delete(self, table: str, key: str) -> None:
        check_key(table, key)
        self._db.write(lambda conn: conn.execute("DELETE FROM kv WHERE tbl = ? AND key = ?", (table, key)))

    def close(self) -> None:
        self._db.close()


@dataclasses.dataclass(slots=True)
class _Change:
    """One checked conditional update, applied inside a write transaction."""

    table: str
    key: str
    changes: dict[str, Any]
    steps: dict[str, int | float]
    conds: tuple[Cond, ...]
    create: bool

    @classmethod
    def checked(cls, table: str, key: str, set_: Mapping[str, Any] | None,
                increment: Mapping[str, int | float] | None, condition: Condition, create: bool, *,
                table_checked: bool = False) -> _Change:
        """The update, or the error naming what is wrong with it (before any transaction starts).
        ``table_checked``: the batch checked ``table`` once already."""
        if not (table_checked and type(key) is str and key):
            check_key(table, key)
        steps = dict(increment) if increment else {}
        for attr, step in steps.items():
            if isinstance(step, np.generic):
                steps[attr] = step = step.item()
            if not isinstance(step, int | float) or isinstance(step, bool):
                raise TypeError(f"KV {table!r} key {key!r}: increment of {attr!r} must be a number, not {step!r}")
        return cls(table, key, normalise_item(table, key, set_ or {}), steps, _checked_condition(condition),
                   create)

    def applied(self, item: Item | None) -> Item | None:
        """The item after this update of ``item`` (``None``: missing), or ``None`` when the condition fails."""
        if (item is None and not self.create) or (self.conds and not matches(item, self.conds)):
            return None
        if item is None:
            new = self.changes.copy()
        else:
            new = item.copy()
            new.update(self.changes)
        for attr, step in self.steps.items():
            current = new.get(attr, 0)
            if current is None:
                current = 0
            if not isinstance(current, int | float) or isinstance(current, bool):
                raise ValueError(f"KV {self.table!r} key {self.key!r}: cannot increment {attr!r}, it holds "
                                 f"{current!r}")
            new[attr] = current + step
        return new


def _load(conn: sqlite3.Connection, table: str, key: str) -> Item | None:
    row = conn.execute("SELECT item FROM kv WHERE tbl = ? AND key = ?", (table, key)).fetchone()
    return None if row is None else _loads(row[0])


def _load_many(conn: sqlite3.Connection, table: str, keys: list[str]) -> dict[str, Item]:
    """The stored items of ``keys`` (missing ones absent), read in chunks within SQLite's parameter limit."""
    unique = list(dict.fromkeys(keys))
    items: dict[str, Item] = {}
    for at in range(0, len(unique), _SCAN_CHUNK):
        chunk = unique[at:at + _SCAN_CHUNK]
        sql = f"SELECT key, item FROM kv WHERE tbl = ? AND key IN ({', '.join('?' * len(chunk))})"
        items.update((key, _loads(text)) for key, text in conn.execute(sql, (table, *chunk)))
    return items


def _checked_condition(condition: Condition) -> tuple[Cond, ...]:
    """:func:`check_condition`, without its checks for the tuples of ``Cond`` of known operators the writer's
    batches are made of."""
    if type(condition) is not tuple:
        return check_condition(condition)
    for cond in condition:
        if type(cond) is not Cond or type(cond.op) is not Op:
            return check_condition(condition)
    return condition


def _loads(text: str) -> Item:
    """A stored item, read as ``json`` reads it: by orjson where that reads it the same (several times as fast: a
    controller run decodes every schedule)."""
    item: Item = loads_exact(text)
    return item


def _encode(item: Item) -> str:
    """An item as JSON text: orjson's, several times as fast as ``json.dumps`` and read the same by
    :func:`_loads` (and by ``json``). What orjson refuses (an integer beyond 64 bits, a lone surrogate, a
    subclass of ``float``) is written by ``json``."""
    try:
        return orjson.dumps(item).decode()
    except orjson.JSONEncodeError:
        return json.dumps(item)


def _dumps(table: str, key: str, item: Mapping[str, Any]) -> str:
    return _encode(normalise_item(table, key, item))
