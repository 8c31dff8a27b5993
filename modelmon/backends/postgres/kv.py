"""KV tables on PostgreSQL: one row per (table, key), the item as jsonb.

Every update is one SQL statement whose ``WHERE`` holds its condition (``conditions.py``): an
``UPDATE``, or an ``INSERT … ON CONFLICT DO UPDATE … WHERE`` when the update may create the item.
PostgreSQL locks the row and re-checks the condition on its newest version, so of several processes
racing a compare-and-set on the same old value exactly one wins, and concurrent increments add up.
Numbers are ``numeric`` inside jsonb: an int reads back as an int, a float as a float, and an
increment adds exactly.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import psycopg

from modelmon.backends.base import Cond, Condition, Item, Update
from modelmon.backends.conditions import check_condition, matches
from modelmon.backends.kv_checks import check_key, check_scan, check_table, normalise_item
from modelmon.backends.postgres.conditions import condition_sql, number_text
from modelmon.backends.postgres.database import Connection, Database
from modelmon.backends.postgres.schema import INCREMENT_ERROR

_PUT = ("INSERT INTO modelmon_kv (tbl, key, item) VALUES (%s, %s, %s::jsonb) "
        "ON CONFLICT (tbl, key) DO UPDATE SET item = excluded.item")


class PostgresKV:
    """The ``KV`` role on a :class:`Database` (see ``modelmon.backends.base.KV``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def put(self, table: str, key: str, item: Mapping[str, Any]) -> None:
        check_key(table, key, no_nul=True)
        text = _item_json(table, key, normalise_item(table, key, item, no_nul=True))
        self._db.run(lambda conn: conn.execute(_PUT, (table, key, text)), transaction=False)

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
        return self._db.run(lambda conn: _apply(conn, [change]), transaction=False)[0]  # one statement

    def update_many(self, table: str, updates: Sequence[Update]) -> list[bool]:
        """All of ``updates`` in one transaction, sent as one pipeline (see ``KV.update_many``)."""
        changes = [_Change.checked(table, u.key, u.set_, None, u.condition, u.create) for u in updates]
        return self._db.run(lambda conn: _apply(conn, changes)) if changes else []

    def get(self, table: str, key: str) -> Item | None:
        check_key(table, key, no_nul=True)

        def get(conn: Connection) -> Item | None:
            row = conn.execute("SELECT item FROM modelmon_kv WHERE tbl = %s AND key = %s", (table, key)).fetchone()
            return None if row is None else _item(row[0])

        return self._db.run(get, transaction=False)

    def scan(
        self, table: str, *, condition: Condition = (), limit: int = 1000, marker: str | None = None
    ) -> tuple[list[tuple[str, Item]], str | None]:
        check_table(table, no_nul=True)
        conds = check_condition(condition)
        check_scan(table, limit, marker)
        where, params = condition_sql(conds, "item")
        after = "" if marker is None else " AND key > %s"
        sql = f"SELECT key, item FROM modelmon_kv WHERE tbl = %s{after} AND {where} ORDER BY key LIMIT %s"
        args = [table, *([] if marker is None else [marker]), *params, limit + 1]
        rows = self._db.run(lambda conn: conn.execute(sql, args).fetchall(), transaction=False)
        page = [(str(key), _item(item)) for key, item in rows[:limit]]
        return page, (page[-1][0] if len(rows) > limit else None)

    def delete(self, table: str, key: str) -> None:
        check_key(table, key, no_nul=True)
        self._db.run(lambda conn: conn.execute("DELETE FROM modelmon_kv WHERE tbl = %s AND key = %s", (table, key)),
                     transaction=False)

    def close(self) -> None:
        self._db.close()


@dataclasses.dataclass(frozen=True)
class _Change:
    """One checked conditional update and the statement that applies it."""

    table: str
    key: str
    sets: str  # JSON object text
    steps: str | None  # JSON object text of the increments, or None
    conds: tuple[Cond, ...]
    create: bool

    @classmethod
    def checked(cls, table: str, key: str, set_: Mapping[str, Any] | None,
                increment: Mapping[str, int | float] | None, condition: Condition, create: bool) -> _Change:
        """The update, or the error naming what is wrong with it (before any statement is sent)."""
        check_key(table, key, no_nul=True)
        steps: dict[str, Any] = {}
        for attr, step in (increment or {}).items():
            if isinstance(step, np.generic):
                step = step.item()
            if not isinstance(step, int | float) or isinstance(step, bool) or not math.isfinite(step):
                raise TypeError(f"KV {table!r} key {key!r}: increment of {attr!r} must be a number, not {step!r}")
            steps[attr] = step
        sets = _item_json(table, key, normalise_item(table, key, set_ or {}, no_nul=True))
        return cls(table, key, sets, _item_json(table, key, steps) if steps else None, check_condition(condition),
                   create)

    @property
    def upsert(self) -> bool:
        """Whether a missing item is created: ``create`` and a condition that a missing item satisfies."""
        return self.create and matches(None, self.conds)

    def changed(self, item: str) -> tuple[str, list[Any]]:
        """SQL of the item after this update of the jsonb ``item``, and its parameters."""
        if self.steps is None:
            return f"{item} || %s::jsonb", [self.sets]
        return f"modelmon_kv_increment({item} || %s::jsonb, %s::jsonb)", [self.sets, self.steps]

    def shape(self) -> tuple[bool, str, str]:
        """What updates of one batched statement share: their SQL but for the parameters."""
        return self.upsert, self.changed("t.item")[0], condition_sql(self.conds, "t.item")[0]

    def statement(self) -> tuple[str, list[Any]]:
        """One SQL statement that applies the update if its condition holds, returning a row if it did."""
        where, where_params = condition_sql(self.conds, "t.item")
        new, new_params = self.changed("t.item")
        if self.upsert:
            first, first_params = self.changed("'{}'::jsonb")
            sql = (f"INSERT INTO modelmon_kv AS t (tbl, key, item) VALUES (%s, %s, {first}) "
                   f"ON CONFLICT (tbl, key) DO UPDATE SET item = {new} WHERE {where} RETURNING 1")
            return sql, [self.table, self.key, *first_params, *new_params, *where_params]
        sql = f"UPDATE modelmon_kv AS t SET item = {new} WHERE t.tbl = %s AND t.key = %s AND {where} RETURNING 1"
        return sql, [*new_params, self.table, self.key, *where_params]


def _apply(conn: Connection, changes: list[_Change]) -> list[bool]:
    """Run ``changes`` in order on ``conn`` (inside the caller's transaction).

    Updates of distinct keys are independent, so a batch goes in rounds (the n-th update of each key in
    round n), and each round's updates of one shape go as one statement over arrays of their parameters
    (``_apply_set``); shapes with few updates are pipelined one statement each."""
    try:
        if len(changes) == 1:
            sql, params = changes[0].statement()
            return [conn.execute(sql, params).fetchone() is not None]
        applied = [False] * len(changes)
        for round_ in _rounds(changes):
            groups: dict[tuple[bool, str, str], list[int]] = {}
            for index in round_:
                groups.setdefault(changes[index].shape(), []).append(index)
            singles = [i for group in groups.values() if len(group) < _SET_MIN for i in group]
            for group in groups.values():
                if len(group) >= _SET_MIN:
                    for index in _apply_set(conn, [changes[i] for i in group], group):
                        applied[index] = True
            if singles:
                with conn.pipeline():
                    cursors = [conn.execute(*changes[i].statement()) for i in singles]
                for index, cursor in zip(singles, cursors, strict=True):
                    applied[index] = cursor.fetchone() is not None
        return applied
    except psycopg.Error as exc:
        if exc.sqlstate == INCREMENT_ERROR:
            failed = changes[0] if len(changes) == 1 else None
            where = f"KV {failed.table!r} key {failed.key!r}: " if failed else f"KV {changes[0].table!r}: "
            raise ValueError(where + (exc.diag.message_primary or str(exc))) from None
        raise


#: Updates of one shape in a round from which one set-based statement beats a statement each.
_SET_MIN = 4


def _rounds(changes: list[_Change]) -> list[list[int]]:
    """The indices of ``changes`` in rounds of distinct keys: the n-th update of a key is in round n."""
    seen: dict[str, int] = {}
    rounds: list[list[int]] = []
    for index, change in enumerate(changes):
        n = seen.get(change.key, 0)
        seen[change.key] = n + 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(index)
    return rounds


def _apply_set(conn: Connection, changes: list[_Change], indices: list[int]) -> list[int]:
    """Apply updates of one shape and distinct keys with one ``UPDATE … FROM unnest(…)`` (and, for updates
    that may create their item, one ``INSERT … ON CONFLICT DO NOTHING`` of the keys it did not update);
    the indices of those applied. A key another process created in between is retried as a single upsert."""
    table = changes[0].table
    rows = [[c.key, *c.changed("t.item")[1], *condition_sql(c.conds, "t.item")[1]] for c in changes]
    new_sql, where_sql = changes[0].shape()[1:]
    counter = iter(range(1, len(rows[0])))
    new_sql = _columns(new_sql, counter)
    where_sql = _columns(where_sql, counter)
    sql = (f"WITH u AS ({_unnest(len(rows[0]))}) UPDATE modelmon_kv AS t SET item = {new_sql} FROM u "
           f'WHERE t.tbl = %s AND t.key = u.p0::text COLLATE "C" AND {where_sql} RETURNING u.ord')
    done = {indices[int(str(row[0])) - 1] for row in conn.execute(sql, [*_arrays(rows), table]).fetchall()}
    if not changes[0].upsert:
        return sorted(done)
    rest = [(i, c) for i, c in zip(indices, changes, strict=True) if i not in done]
    if rest:
        rows = [[c.key, *c.changed("'{}'::jsonb")[1]] for _, c in rest]
        first_sql = _columns(rest[0][1].changed("'{}'::jsonb")[0], iter(range(1, len(rows[0]))))
        sql = (f"WITH u AS ({_unnest(len(rows[0]))}) INSERT INTO modelmon_kv (tbl, key, item) "
               f"SELECT %s::text, u.p0, {first_sql} FROM u ON CONFLICT (tbl, key) DO NOTHING RETURNING key")
        created = {key for (key,) in conn.execute(sql, [*_arrays(rows), table]).fetchall()}
        for index, change in rest:
            # not created: it exists (perhaps created by another process meanwhile), its condition decides
            if change.key in created or conn.execute(*change.statement()).fetchone() is not None:
                done.add(index)
    return sorted(done)


def _unnest(width: int) -> str:
    names = ", ".join(f"p{k}" for k in range(width))
    return f"SELECT * FROM unnest({', '.join(['%s::text[]'] * width)}) WITH ORDINALITY AS u({names}, ord)"


def _columns(sql: str, counter: Iterator[int]) -> str:
    """``sql`` with each ``%s`` placeholder replaced by the next column ``u.p<k>`` of the unnest."""
    parts = sql.split("%s")
    return parts[0] + "".join(f"u.p{next(counter)}{part}" for part in parts[1:])


def _arrays(rows: list[list[Any]]) -> list[list[str]]:
    """Rows of parameters as one text array per column (booleans as SQL's ``true``/``false``)."""
    return [[("true" if v else "false") if isinstance(v, bool) else str(v) for v in column]
            for column in zip(*rows, strict=True)]


def _item(value: Any) -> Item:
    """A stored item as psycopg returns jsonb (parsed), or as text when a caller selects ``item::text``."""
    item: Item = json.loads(value) if isinstance(value, str) else value
    return item


def _item_json(table: str, key: str, item: Mapping[str, Any]) -> str:
    """``item`` (already normalised) as JSON text whose numbers keep their Python type in jsonb."""
    parts = []
    for attr, value in item.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            text = number_text(value)
        else:
            text = json.dumps(value)
        parts.append(f"{json.dumps(attr)}: {text}")
    return "{" + ", ".join(parts) + "}"
