"""The KV condition language (``modelmon.backends.base.Cond``) as SQL over a jsonb item: the one place
that translates it, for conditional updates and filtered scans alike.

The SQL keeps :func:`modelmon.backends.conditions.matches`' meaning: a missing attribute satisfies only
``NOT_EXISTS``; values of unrelated types (text and a number, a boolean and a number) compare false
except for ``!=``; ``None`` equals only a stored null and orders against nothing. Text compares by code
point (``COLLATE "C"``) and numbers exactly (``numeric``), as Python does.

>>> sql, params = condition_sql((Cond.eq("v", 3),), "t.item")
>>> params
['v', 'v', 'v', '3']
"""

from __future__ import annotations

import decimal
import math
from typing import Any

from modelmon.backends.base import Cond, Op

_SQL_OP = {Op.EQ: "=", Op.NE: "<>", Op.LT: "<", Op.LE: "<=", Op.GT: ">", Op.GE: ">="}


def condition_sql(conds: tuple[Cond, ...], item: str) -> tuple[str, list[Any]]:
    """SQL true when every comparison of ``conds`` (checked) holds for the jsonb expression ``item``,
    with its parameters in order (``%s`` placeholders)."""
    parts: list[str] = []
    params: list[Any] = []
    for cond in conds:
        sql, more = _comparison(cond, item)
        parts.append(sql)
        params.extend(more)
    return (" AND ".join(parts) if parts else "true"), params


def number_text(value: int | float) -> str:
    """A number as JSON text that jsonb keeps as the same Python type: a float always has a decimal point
    and never an exponent (jsonb would store ``1e+20`` as the integer 10**20), an int none.

    >>> [number_text(v) for v in (3, 2.0, 1e20, 1e-05, -0.5)]
    ['3', '2.0', '100000000000000000000.0', '0.00001', '-0.5']
    """
    if isinstance(value, bool) or not isinstance(value, float):
        return str(int(value))
    text = repr(value)
    if "e" in text or "E" in text:
        text = format(decimal.Decimal(text), "f")
    return text if "." in text else text + ".0"


def _comparison(cond: Cond, item: str) -> tuple[str, list[Any]]:
    op, attr, value = Op(cond.op), cond.attr, cond.value
    if op is Op.EXISTS:
        return f"({item} ? %s::text)", [attr]
    if op is Op.NOT_EXISTS:
        return f"(NOT ({item} ? %s::text))", [attr]
    kind_of = f"jsonb_typeof({item} -> %s::text)"
    if value is None:  # equals a stored null, differs from any other stored value, orders against nothing
        if op is Op.EQ:
            return f"COALESCE({kind_of} = 'null', false)", [attr]
        if op is Op.NE:
            return f"COALESCE({kind_of} <> 'null', false)", [attr]
        return "false", []
    other = "true" if op is Op.NE else "false"  # a present value of another type (or null)
    param: Any
    if isinstance(value, bool):
        kind, compare, param = "boolean", f"({item} -> %s::text)::boolean {_SQL_OP[op]} %s::boolean", value
    elif isinstance(value, int | float) and not (isinstance(value, float) and math.isnan(value)):
        text = number_text(value) if math.isfinite(value) else ("Infinity" if value > 0 else "-Infinity")
        kind, compare, param = "number", f"({item} -> %s::text)::numeric {_SQL_OP[op]} %s::numeric", text
    elif isinstance(value, str):
        kind, compare, param = "string", f'({item} ->> %s::text) COLLATE "C" {_SQL_OP[op]} %s::text', value
    else:  # NaN or a type no item holds: comparable with nothing
        return f"({item} ? %s::text AND {other})", [attr]
    sql = (f"(CASE WHEN NOT ({item} ? %s::text) THEN false WHEN {kind_of} = '{kind}' THEN {compare} "
           f"ELSE {other} END)")
    return sql, [attr, attr, attr, param]
