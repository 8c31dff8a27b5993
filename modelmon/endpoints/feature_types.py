"""A feature's type on an endpoint, number or text, so every sample file of a column has one type.

The type comes from the endpoint's registered reference statistics (categorical features are text),
or else from the first record that named the features (a column holding only numbers is a number),
and is then kept on the endpoint (``feature_types``). A request sending text for a numeric feature
is rejected alone (dead-lettered with the reason); a number sent for a text feature is stored as its
text. Before types were kept, one ``"hello"`` in a numeric column made every later read of that hour
fail on mixed parquet schemas.

>>> infer_types([[1.0, "a"], [2, "b"]], ["x", "c"])
{'x': 'number', 'c': 'text'}
>>> stats_types({"x": {"mean": 1.0}, "c": {"categories": ["a"]}})
{'x': 'number', 'c': 'text'}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from modelmon.endpoints.record import ModelEndpoint

NUMBER, TEXT = "number", "text"


def endpoint_types(endpoint: ModelEndpoint) -> dict[str, str] | None:
    """The endpoint's kept types, else those of its reference statistics, else ``None`` (not known yet)."""
    if endpoint.feature_types:
        return dict(endpoint.feature_types)
    return stats_types(endpoint.feature_stats) if endpoint.feature_stats else None


def is_number(value: Any) -> bool:
    """A JSON number (not a boolean); ``None`` (missing) fits every type."""
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def stats_types(feature_stats: Mapping[str, Any]) -> dict[str, str]:
    """Types from MLRun-format reference statistics: categorical entries (with ``categories``) are text."""
    return {name: TEXT if isinstance(entry, Mapping) and "categories" in entry else NUMBER
            for name, entry in feature_stats.items()}


def infer_types(rows: Sequence[Sequence[Any]], names: Sequence[str]) -> dict[str, str]:
    """The first type seen: a column holding only numbers (or missing values) is a number, else text."""
    return {name: NUMBER if all(is_number(row[j]) for row in rows) else TEXT for j, name in enumerate(names)}


def first_misfit(rows: Sequence[Sequence[Any]], numeric: Sequence[int]) -> tuple[int, Any] | None:
    """The first (column index, value) of ``rows`` that is not a number in a ``numeric`` column."""
    for row in rows:
        for j in numeric:
            if not is_number(row[j]):
                return j, row[j]
    return None
