"""Evaluating a KV ``Condition`` against an item in Python: the local backend does it inside the
transaction that reads the item; the V3IO backend for what an expression cannot say (quoted text).

A missing attribute satisfies only ``NOT_EXISTS``; comparing values of unrelated types (text with a
number) is false rather than an error, as in V3IO condition expressions.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from modelmon.backends.base import Cond, Condition, Op

_COMPARE: dict[Op, Callable[[Any, Any], bool]] = {
    Op.EQ: operator.eq,
    Op.NE: operator.ne,
    Op.LT: operator.lt,
    Op.LE: operator.le,
    Op.GT: operator.gt,
    Op.GE: operator.ge,
}


def check_condition(condition: Condition) -> tuple[Cond, ...]:
    """``condition`` as a tuple, or ``TypeError``/``ValueError`` naming the bad part."""
    if isinstance(condition, Cond):
        return (condition,)
    conds = tuple(condition)
    for cond in conds:
        if not isinstance(cond, Cond):
            raise TypeError(f"a condition is a sequence of Cond, got a {type(cond).__name__}: {cond!r}")
        Op(cond.op)  # ValueError for an unknown operator
    return conds


def matches(item: Mapping[str, Any] | None, condition: tuple[Cond, ...]) -> bool:
    """Whether every comparison of ``condition`` holds for ``item`` (``None``: a missing item).

    >>> matches({"a": 1}, (Cond.eq("a", 1), Cond.not_exists("b")))
    True
    >>> matches(None, (Cond("a", Op.NE, 1),))
    False
    """
    attrs = item or {}
    return all(_holds(attrs, cond) for cond in condition)


def _holds(attrs: Mapping[str, Any], cond: Cond) -> bool:
    op = Op(cond.op)
    present = cond.attr in attrs
    if op is Op.EXISTS:
        return present
    if op is Op.NOT_EXISTS:
        return not present
    if not present:
        return False
    value = attrs[cond.attr]
    if not _comparable(value, cond.value):
        return op is Op.NE
    try:
        return bool(_COMPARE[op](value, cond.value))
    except TypeError:  # None < 1 and the like
        return op is Op.NE


def _comparable(a: Any, b: Any) -> bool:
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers):
        return isinstance(a, bool) == isinstance(b, bool)
    return type(a) is type(b) or a is None or b is None
