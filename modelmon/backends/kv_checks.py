"""The argument checks the SQL implementations of the ``KV`` role (SQLite in ``local``, PostgreSQL in
``postgres``) share, so both refuse the same input with the same words. ``no_nul``: PostgreSQL text cannot
hold a NUL character, so there names, keys and text values with one are refused too."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def _nul(text: str, no_nul: bool) -> bool:
    return no_nul and "\0" in text


def check_table(table: str, *, no_nul: bool = False) -> None:
    if not isinstance(table, str) or not table or _nul(table, no_nul):
        raise ValueError(f"KV table must be a non-empty string{' without NUL' if no_nul else ''}, not {table!r}")


def check_key(table: str, key: str, *, no_nul: bool = False) -> None:
    check_table(table, no_nul=no_nul)
    if not isinstance(key, str) or not key or _nul(key, no_nul):
        raise ValueError(f"KV {table!r}: key must be a non-empty string{' without NUL' if no_nul else ''}, "
                         f"not {key!r}")


def check_scan(table: str, limit: int, marker: str | None) -> None:
    """A scan's page size and continuation marker."""
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValueError(f"KV {table!r}: scan limit must be a whole number >= 1, not {limit!r}")
    if marker is not None and not isinstance(marker, str):
        raise TypeError(f"KV {table!r}: scan marker must be a str from a previous page, not {marker!r}")


def normalise_item(table: str, key: str, item: Mapping[str, Any], *, no_nul: bool = False) -> dict[str, Any]:
    """``item`` as a dict of plain values (numpy scalars become Python ones), or an error naming the attribute.

    A writer's batch checks tens of thousands of items: those of plain ``str`` names and plain values (no numpy
    scalar, no subclass) are checked in one quick pass; any other item, and any item that fails, goes through
    the attribute-by-attribute checks below, which raise the error of its first bad attribute."""
    if type(item) is dict:
        for attr, value in item.items():
            kind = type(value)
            if type(attr) is not str or not attr or (no_nul and "\0" in attr) or not (
                    value is None or kind is int or kind is bool
                    or (kind is float and math.isfinite(value))
                    or (kind is str and not (no_nul and "\0" in value))):
                break
        else:
            return dict(item)
    return _normalise_each(table, key, item, no_nul)


def _normalise_each(table: str, key: str, item: Mapping[str, Any], no_nul: bool) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        raise TypeError(f"KV {table!r} key {key!r}: an item is a mapping of attributes, not a {type(item).__name__}")
    plain: dict[str, Any] = {}
    for attr, value in item.items():
        if isinstance(value, np.generic):
            value = value.item()
        if not isinstance(attr, str) or not attr or _nul(attr, no_nul):
            raise TypeError(f"KV {table!r} key {key!r}: attribute names must be non-empty str"
                            f"{' without NUL' if no_nul else ''}, not {attr!r}")
        if value is not None and not isinstance(value, str | int | float | bool):
            raise TypeError(
                f"KV {table!r} key {key!r}: attribute {attr!r} is a {type(value).__name__}; "
                "values are str, int, float, bool or None (store nested data as JSON text)"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"KV {table!r} key {key!r}: attribute {attr!r} is {value!r}; values must be finite")
        if isinstance(value, str) and _nul(value, no_nul):
            raise ValueError(f"KV {table!r} key {key!r}: attribute {attr!r} holds a NUL character, which "
                             "PostgreSQL text cannot store")
        plain[attr] = value
    return plain
