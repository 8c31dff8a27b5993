"""The KV role on V3IO NoSQL tables: PutItem, UpdateItem with condition expressions, GetItem, GetItems.

A conditional update is one UpdateItem (or a merging PutItem when there is nothing to increment or
remove), so the compare-and-set happens on the platform, atomically. V3IO has no null: ``None`` is
stored as an empty blob and read back as ``None``.

Expressions carry only what their documented syntax can (see :mod:`.expressions`). An update whose
text or condition cannot be written in one (a quote, a backslash, over 8 KB) reads the item, checks the
condition here and writes typed attributes with a PutItem conditioned on the item's modification time
(``__mtime_secs``/``__mtime_nsecs``, as v3io-go's consumer groups and storey do): still one atomic
compare-and-set, read again if the item changed meanwhile.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from typing import Any

import v3io.dataplane

from modelmon.backends.base import Cond, Condition, Item, Update
from modelmon.backends.conditions import matches
from modelmon.backends.v3io.calls import V3ioCalls, check, error_message, is_condition_false, split_path
from modelmon.backends.v3io.expressions import (
    NULL,
    NotExpressible,
    check_attribute,
    condition_expression,
    plain,
    update_expression,
)
from modelmon.backends.v3io.schema import SCHEMA_FILE
from modelmon.core.errors import BackendUnavailable

#: Tries of a read-check-write update before giving up on an item that keeps changing.
_VERIFIED_ATTEMPTS = 8


def _check_key(table: str, key: str) -> str:
    if not isinstance(key, str) or not key or "/" in key or key in (".", ".."):
        raise ValueError(f"KV key {key!r} in {table!r}: must be non-empty text without '/'")
    return key


def _user_attributes(item: Mapping[str, Any]) -> Item:
    return {k: None if v == NULL else v for k, v in item.items() if not k.startswith("__")}


def _stored(item: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes as the client sends them: plain Python scalars, ``None`` as the null blob."""
    return {check_attribute(k): NULL if v is None else plain(k, v) for k, v in item.items()}


def _view(key: str, item: Item | None) -> Item | None:
    """What a condition sees: the user attributes and ``__name``, or ``None`` for a missing item."""
    return None if item is None else {**item, "__name": key}


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
        values = {check_attribute(k): None if v is None else plain(k, v) for k, v in (set_ or {}).items()}
        increment = dict(increment or {})
        conds: list[Cond] = [condition] if isinstance(condition, Cond) else list(condition)
        if not create:
            conds.append(Cond.exists("__name"))
        what = f"update {table}/{key}"
        if not values and not increment:
            return self._touch(table, key, conds, create)
        try:
            where = condition_expression(conds)
            expression = update_expression(values, increment) if increment else None
        except NotExpressible:
            return self._verified_update(table, key, values, increment, conds, create)
        if expression is not None:
            response = self._calls.call(what, self._client.kv.update, container, path, key,
                                        expression=expression, condition=where)
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

    def update_many(self, table: str, updates: Sequence[Update]) -> list[bool]:
        """One conditional update request per item: V3IO has no multi-item transaction, and every item's
        compare-and-set is its own anyway."""
        return [self.update(table, u.key, u.set_, condition=u.condition, create=u.create) for u in updates]

    def get(self, table: str, key: str) -> Item | None:
        return self._read(table, key, ["*"])[0]

    def _read(self, table: str, key: str, attributes: list[str]) -> tuple[Item | None, dict[str, Any]]:
        """The item's user attributes (``None``: missing) and everything GetItem returned for ``attributes``."""
        container, path = split_path(table)
        response = self._calls.call(f"get {table}/{key}", self._client.kv.get, container, path,
                                    _check_key(table, key), attribute_names=attributes)
        if response.status_code == 404:
            return None, {}
        check(response, f"get {table}/{key}")
        raw = dict(response.output.item)
        return _user_attributes(raw), raw

    def scan(
        self, table: str, *, condition: Condition = (), limit: int = 1000, marker: str | None = None
    ) -> tuple[list[tuple[str, Item]], str | None]:
        """One GetItems page, sorted by key within the page (V3IO pages are not globally ordered)."""
        container, path = split_path(table)
        if not isinstance(limit, int) or limit < 1:
            raise ValueError(f"scan of {table!r}: limit must be a positive integer, not {limit!r}")
        sent, here = _filters(condition)
        response = self._calls.call(f"scan {table}", self._client.kv.scan, container, path,
                                    attribute_names=["**"], filter_expression=sent, marker=marker, limit=limit)
        if response.status_code == 404:
            return [], None
        check(response, f"scan {table}")
        output = response.output
        # a file in the table's folder is an item too: the ``.#schema`` Grafana's reader needs is not data
        rows = sorted(((item["__name"], _user_attributes(item)) for item in output.items
                       if item["__name"] != SCHEMA_FILE), key=operator.itemgetter(0))
        if here:
            rows = [(k, item) for k, item in rows if matches(_view(k, item), here)]
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
        if not matches(_view(key, current), tuple(conds)):
            return False
        if current is None:
            container, path = split_path(table)
            response = self._calls.call(f"create {table}/{key}", self._client.kv.put, container, path, key, {},
                                        condition="not exists(__name)")
            if not is_condition_false(response):
                check(response, f"create {table}/{key}")
        return True


    def _verified_update(self, table: str, key: str, values: dict[str, Any], increment: dict[str, Any],
                         conds: list[Cond], create: bool) -> bool:
        """The update as read, check here, and a typed PutItem conditioned on the item not having changed."""
        container, path = split_path(table)
        what = f"update {table}/{key}"
        for _ in range(_VERIFIED_ATTEMPTS):
            current, raw = self._read(table, key, ["**"])
            if (current is None and not create) or not matches(_view(key, current), tuple(conds)):
                return False
            changed = dict(values)
            for name, amount in increment.items():
                changed[check_attribute(name)] = _incremented(what, name, (current or {}).get(name, 0), amount)
            unchanged = "not exists(__name)" if current is None else \
                f"__mtime_secs == {int(raw['__mtime_secs'])} AND __mtime_nsecs == {int(raw['__mtime_nsecs'])}"
            response = self._calls.call(what, self._client.kv.update, container, path, key,
                                        attributes=_stored(changed), condition=unchanged,
                                        update_mode="CreateOrReplaceAttributes")
            if not is_condition_false(response):
                check(response, what)
                return True
        raise BackendUnavailable(f"V3IO {what}: the item changed under {_VERIFIED_ATTEMPTS} updates in a row")


def _incremented(what: str, name: str, current: Any, amount: Any) -> int | float:
    amount = plain(name, amount)
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        raise TypeError(f"{what}: increment of {name!r} must be a number, not {type(amount).__name__}")
    if isinstance(current, bool) or not isinstance(current, int | float):
        raise ValueError(f"{what}: cannot increment {name!r}, it holds {current!r}")
    return current + amount


def _filters(condition: Condition) -> tuple[str | None, tuple[Cond, ...]]:
    """A scan's condition split into the filter expression V3IO applies and the comparisons applied here."""
    conds = (condition,) if isinstance(condition, Cond) else tuple(condition)
    sent: list[Cond] = []
    here: list[Cond] = []
    for cond in conds:
        try:
            condition_expression([cond])
        except NotExpressible:
            here.append(cond)
        else:
            sent.append(cond)
    try:
        return condition_expression(sent), tuple(here)
    except NotExpressible:  # too long together: filter everything here
        return None, conds
