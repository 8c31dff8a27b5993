"""V3IO condition and update expressions built from modelmon's ``Cond`` lists and attribute maps.

Only the documented syntax is written: text literals in single quotes ("String values within the
expression are enclosed within single quotes", Iguazio docs, expressions overview). The syntax has no
escape: a backslash "isn't supported within expressions" and an expression is at most 8 KB (software
specifications, expressions). So text holding ``'`` or ``\\``, or an expression over 8 KB, raises
:class:`NotExpressible`, and the KV role writes such values as typed attributes instead.

>>> condition_expression([Cond.eq("last_analyzed_ms", 5), Cond.not_exists("lock")])
'last_analyzed_ms == 5 AND not exists(lock)'
>>> update_expression({"status": "ok", "error": None}, {"count": 2})
"SET status = 'ok'; SET error = blob(''); SET count = if_not_exists(count, 0) + 2"
>>> literal("owner", "o'brien")
Traceback (most recent call last):
...
modelmon.backends.v3io.expressions.NotExpressible: attribute 'owner': text holding ' or \\ has no literal ...
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from typing import Any

from modelmon.backends.base import Cond, Condition, Op

#: Attribute names: letters, digits and ``_``, not starting with a digit, 1-255 characters (Iguazio docs,
#: objects/attributes.md "Attribute Names"). Values (a feature name inside JSON text, say) are free.
_ATTR = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")
#: The longest expression V3IO accepts (software specifications, "Maximum length of an expression").
MAX_EXPRESSION_BYTES = 8 * 1024
#: V3IO has no null: ``None`` is stored as an empty blob (bytes are not otherwise storable values).
NULL = b""


class NotExpressible(ValueError):
    """A value or expression the documented syntax cannot carry; the caller writes typed attributes instead."""


def check_attribute(name: str) -> str:
    if not isinstance(name, str) or not _ATTR.fullmatch(name):
        raise ValueError(f"attribute name {name!r}: use 1-255 letters, digits and '_' (not starting with a digit)")
    return name


def _bounded(expression: str) -> str:
    size = len(expression.encode())
    if size > MAX_EXPRESSION_BYTES:
        raise NotExpressible(f"expression of {size} bytes: V3IO takes at most {MAX_EXPRESSION_BYTES}")
    return expression


def plain(name: str, value: Any) -> Any:
    """``value`` as a type the V3IO client encodes (numpy scalars become Python ones); None stays None."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise TypeError(f"attribute {name!r}: {type(value).__name__} is not storable (use text, numbers or booleans)")


def literal(name: str, value: Any) -> str:
    """``value`` written in an expression: text in single quotes, which V3IO cannot escape (see above)."""
    if value is None:
        return "blob('')"
    value = plain(name, value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"attribute {name!r}: {value} cannot be written in a V3IO expression")
        return repr(value)
    if isinstance(value, str):
        if "'" in value or "\\" in value:
            raise NotExpressible(f"attribute {name!r}: text holding ' or \\ has no literal in V3IO expressions")
        return f"'{value}'"
    raise TypeError(f"attribute {name!r}: {type(value).__name__} has no literal")


def _one(cond: Cond) -> str:
    attr = check_attribute(cond.attr)
    match cond.op:
        case Op.EXISTS:
            return f"exists({attr})"
        case Op.NOT_EXISTS:
            return f"not exists({attr})"
        case Op.EQ | Op.NE if cond.value is None:  # compares with the stored null, never matches a missing one
            return f"(exists({attr}) AND {attr} {cond.op.value} blob(''))"
        case Op.EQ | Op.NE | Op.LT | Op.LE | Op.GT | Op.GE:
            return f"{attr} {cond.op.value} {literal(attr, cond.value)}"
    raise ValueError(f"condition {cond!r}: unknown operator {cond.op!r}")


def condition_expression(condition: Condition) -> str | None:
    """All comparisons ANDed; ``None`` for an empty condition."""
    if isinstance(condition, Cond):
        condition = [condition]
    parts = [_one(Cond(c.attr, Op(c.op), c.value)) for c in condition]
    return _bounded(" AND ".join(parts)) if parts else None


def update_expression(set_: Mapping[str, Any], increment: Mapping[str, Any]) -> str:
    """``SET`` for values (None as the null blob) and ``if_not_exists(a, 0) + n`` for increments."""
    statements = [f"SET {check_attribute(k)} = {literal(k, v)}" for k, v in set_.items()]
    for name, amount in increment.items():
        amount = plain(name, amount)
        if isinstance(amount, bool) or not isinstance(amount, int | float):
            raise TypeError(f"increment of {name!r} must be a number, not {type(amount).__name__}")
        sign, size = ("-", -amount) if amount < 0 else ("+", amount)
        statements.append(f"SET {check_attribute(name)} = if_not_exists({name}, 0) {sign} {literal(name, size)}")
    return _bounded("; ".join(statements))
