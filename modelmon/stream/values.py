"""Object and list values in tracking requests (an LLM's ``{"answer": ..., "usage": {...}}``), kept as sent.

MLRun's stream stores such a value in its column as it came (its parquet target writes the dict), and
its LLM monitoring apps read ``sample_df["usage"]`` as Python dicts (``df["usage"].apply(pd.Series)``).
modelmon does the same: the value reaches ``sample_df`` as the dict or list the model returned (on disk
it is JSON, see :mod:`modelmon.backends.sample_layout`). A value is refused, with its request alone,
when it could not be stored faithfully or would crowd out the rest of a window:

- nested deeper than :data:`MAX_DEPTH` levels;
- longer than :data:`MAX_BYTES` bytes as JSON;
- holding a non-finite number (``NaN``, ``Infinity``) or an integer beyond 64 bits.

>>> nested_problem({"usage": {"prompt_tokens": 12}})
>>> nested_problem([[[1]]], max_depth=2)
'is nested more than 2 levels deep'
"""

from __future__ import annotations

import math
from typing import Any

import orjson

#: How deep an object or list may nest (``{"usage": {"prompt_tokens": 1}}`` is 2 levels).
MAX_DEPTH = 16
#: The longest object or list value, as JSON: a stream record holds at most 1 MB, and a window reads
#: every value of its rows.
MAX_BYTES = 64 * 1024
_INT64 = 2**63


def is_nested(value: Any) -> bool:
    """Whether ``value`` is an object or a list (not a number or text)."""
    return isinstance(value, dict | list)


def nested_problem(value: Any, max_depth: int = MAX_DEPTH, max_bytes: int = MAX_BYTES) -> str | None:
    """Why the object or list ``value`` cannot be stored, or ``None`` when it can."""
    depth = _depth_problem(value, max_depth)
    if depth is not None:
        return depth
    try:
        size = len(orjson.dumps(value))
    except (TypeError, orjson.JSONEncodeError):  # defensive: a decoded JSON value always encodes
        return "is not JSON"
    if size > max_bytes:
        return f"is {size:,} bytes as JSON; at most {max_bytes:,} are accepted"
    return None


def _depth_problem(value: Any, max_depth: int) -> str | None:
    """Depth and number checks in one walk (iterative: a deep value must not exhaust the stack)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            if level > max_depth:
                return f"is nested more than {max_depth} levels deep"
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
        elif isinstance(item, float) and not math.isfinite(item):
            return "contains a non-finite number"
        elif type(item) is int and not -_INT64 <= item < _INT64:
            return "contains an integer beyond 64 bits"
    return None


def request_problem(rows: list[Any] | None, field: str) -> str | None:
    """Why a request's ``rows`` (of ``field``) hold an object or list that cannot be stored, or ``None``."""
    for r, row in enumerate(rows or []):
        for c, value in enumerate(row if isinstance(row, list) else [row]):
            if is_nested(value):
                problem = nested_problem(value)
                if problem is not None:
                    return f"{field} row {r} value {c} {problem}"
    return None
