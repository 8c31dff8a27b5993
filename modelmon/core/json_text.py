"""JSON text read exactly as ``json.loads`` reads it, at orjson's speed where orjson reads it the same."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

#: Floats at least this large may be integers of more than 64 bits that orjson read as floats.
_BEYOND_64_BITS = 2.0 ** 63


def loads_exact(text: str | bytes, parse_constant: Callable[[str], Any] | None = None) -> Any:
    """``json.loads(text, parse_constant=parse_constant)``, decoded by orjson (several times as fast) unless orjson
    would read it otherwise.

    orjson refuses ``NaN``, infinities and lone surrogates, which ``json`` reads (or refuses through
    ``parse_constant``, with its message), and reads an integer beyond 64 bits as a float: such text goes through
    ``json``. A float as large in the text itself sends it there too (``json`` reads it the same). ``ValueError``
    if the text is no JSON.
    """
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text, parse_constant=parse_constant)
    return json.loads(text, parse_constant=parse_constant) if _holds_float_beyond_64_bits(value) else value


def _holds_float_beyond_64_bits(value: Any) -> bool:
    """Whether decoded JSON ``value`` holds a float of 2**63 or more in size, in a walk that does not recurse into
    scalars (a fraction of what ``json`` takes to read the text)."""
    kind = type(value)
    if kind is dict:
        value = value.values()
    elif kind is not list:
        return kind is float and not -_BEYOND_64_BITS < value < _BEYOND_64_BITS
    for item in value:
        kind = type(item)
        if kind is float:
            if not -_BEYOND_64_BITS < item < _BEYOND_64_BITS:
                return True
        elif (kind is dict or kind is list) and _holds_float_beyond_64_bits(item):
            return True
    return False
