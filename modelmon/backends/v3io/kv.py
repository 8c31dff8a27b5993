"""The KV role on V3IO NoSQL tables: PutItem, UpdateItem with condition expressions, GetItem, GetItems.

A conditional update is one UpdateItem (or a merging PutItem when there is nothing to increment or
remove), so the compare-and-set happens on the platform, atomically. V3IO has no null: ``None`` is
stored as an empty blob and read back as ``None``.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

import v3io.dataplane

from modelmon.backends.base import Cond, Condition, Item, Op
from modelmon.backends.v3io.calls import V3ioCalls, check, error_message, is_condition_false, split_path
from modelmon.backends.v3io.expressions import NULL, condition_expression, plain, update_expression


def _check_key(table: str, key: str) -> str:
    if not isinstance(key, str) or not key or "/" in key or key in (".", ".."):
        raise ValueError(f"KV key {key!r} in {table!r}: must be non-empty text without '/'")
    return key


def _user_attributes(item: Mapping[str, Any]) -> Item:
    return {k: None if v == NULL else v for k, v in item.items() if not k.startswith("__")}


def _stored(item: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes as the client sends them: plain Python scalars, ``None`` as the null blob."""
    return {k: NULL if v is None else plain(k, v) for k, v in item.items()}


class V3ioKV:
    """The ``KV`` role; tables are "<container>/<path>" directories of items named by key."""

    def __init__(self, client: v3io.dataplane.Client, calls: V3ioCalls) -> None:
        self._client = client
        self._calls = calls

    def put(self, table: str, key: str, item: Mapping[str, Any]) -> None:
        container, path = split_path(table)
        attrs = _stored(item)
        response = self._calls.call(f"put {table}/{key}", self._client.kv.put, container, path,
                                    _check_key(table, key), attrs)
        check(response, f"put {table}/{key}")

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
        container, path = split_path(table)
        _check_key(table, key)
        values = {k: None if v is None else plain(k, v) for k, v in (set_ or {}).items()}
        increment = dict(increment or {})
        conds: list[Cond] = [condition] if isinstance(condition, Cond) else list(condition)
        if not create:
            conds.append(Cond.exists("__name"))
        where = condition_expression(conds)
        what = f"update {table}/{key}"
        if not values and not increment:
            return self._touch(table, key, conds, create)
        if increment:
            response = self._calls.call(what, self._client.kv.update, container, path, key,
                                        expression=update_expression(values, increment), condition=where)
        else:  # typed attributes: no quoting limits on text
            response = self._calls.call(what, self._client.kv.update, container, path, key,
                                        attributes=_stored(values), condition=where,
                                        update_mode="CreateOrReplaceAttributes")
        if is_condition_false(response):
            return False
        if increment and response.status_code == 400:
            raise ValueError(f"update of {table}/{key}: V3IO refused the increment of {', '.join(increment)} "
                             f"(not a number on the item?): {error_message(response)}")
        check(response, what)
        return True

    def get(self, table: str, key: str) -> Item | None:
        container, path = split_path(table)
        response = self._calls.call(f"get {table}/{key}", self._client.kv.get, container, path,
                                    _check_key(table, key), attribute_names=["*"])
        if response.status_code == 404:
            return None
        check(response, f"get {table}/{key}")
        return _user_attributes(response.output.item)

    def scan(
        self, table: str, *, condition: Condition = (), limit: int = 1000, marker: str | None = None
    ) -> tuple[list[tuple[str, Item]], str | None]:
        """One GetItems page, sorted by key within the page (V3IO pages are not globally ordered)."""
        container, path = split_path(table)
        if not isinstance(limit, int) or limit < 1:
            raise ValueError(f"scan of {table!r}: limit must be a positive integer, not {limit!r}")
        response = self._calls.call(f"scan {table}", self._client.kv.scan, container, path,
                                    attribute_names=["**"], filter_expression=condition_expression(condition),
                                    marker=marker, limit=limit)
        if response.status_code == 404:
            return [], None
        check(response, f"scan {table}")
        output = response.output
        rows = sorted(((item["__name"], _user_attributes(item)) for item in output.items), key=operator.itemgetter(0))
        return rows, None if output.last or not output.next_marker else output.next_marker

    def delete(self, table: str, key: str) -> None:
        container, path = split_path(table)
        response = self._calls.call(f"delete {table}/{key}", self._client.kv.delete, container, path,
                                    _check_key(table, key))
        if response.status_code != 404:
            check(response, f"delete {table}/{key}")

    def _touch(self, table: str, key: str, conds: list[Cond], create: bool) -> bool:
        """An update with nothing to write: check the condition; create an empty item if asked."""
        current = self.get(table, key)
        if not all(_holds(current or {}, c) for c in conds if c.attr != "__name"):
            return False
        if current is None:
            if not create:
                return False
            container, path = split_path(table)
            response = self._calls.call(f"create {table}/{key}", self._client.kv.put, container, path, key, {},
                                        condition="not exists(__name)")
            if not is_condition_false(response):
                check(response, f"create {table}/{key}")
        return True


_COMPARE = {Op.EQ: operator.eq, Op.NE: operator.ne, Op.LT: operator.lt, Op.LE: operator.le,
            Op.GT: operator.gt, Op.GE: operator.ge}


def _holds(item: Item, cond: Cond) -> bool:
    present = cond.attr in item
    if cond.op == Op.EXISTS or (cond.op == Op.NE and cond.value is None):
        return present
    if cond.op == Op.NOT_EXISTS or (cond.op == Op.EQ and cond.value is None):
        return not present
    if not present:
        return False
    try:
        return bool(_COMPARE[Op(cond.op)](item[cond.attr], cond.value))
    except TypeError:
        return False
