"""An endpoint's stored record decoded once for the windows of a packed record, each window given its own copy.

Building a window's context decoded the endpoint's item twice (its ``ModelEndpoint`` and the ``model_endpoint``
dict, independent of each other because an app may change either in place): a fifth of an app's time per window
besides the app itself. Here the item is decoded once per pack and copied per window, value by value.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any

from modelmon.endpoints.record import ModelEndpoint


class EndpointRecord:
    """One endpoint's stored item, decoded once for the windows of a pack that analyse it.

    Each window gets the record twice, as its context's ``ModelEndpoint`` and as the ``model_endpoint`` dict,
    and an app may change either in place (the reference ``feature_stats`` above all): so every window gets
    copies of its own. The decoded record is copied value by value (JSON values: dicts, lists and scalars),
    cheaper than decoding the item's JSON text again; the last of the ``uses`` windows gets the decoded record
    itself, and a window asking after that (a retried one) gets it decoded afresh from the item.
    """

    def __init__(self, item: Mapping[str, Any], uses: int = 1) -> None:
        self._item = item
        self._endpoint: ModelEndpoint | None = _decoded(item)
        self._uses = uses

    def take(self) -> tuple[ModelEndpoint, dict[str, Any]]:
        """The record for one window: a ``ModelEndpoint`` and the dict ``ModelEndpoint.to_dict()`` gives (with
        ``latency_avg_us``), sharing no mutable value with each other nor with another window's."""
        self._uses -= 1
        source = self._endpoint if self._endpoint is not None else _decoded(self._item)
        if self._uses <= 0:
            self._endpoint = None  # handed out below: a later window decodes the item again
            endpoint = source
        else:
            endpoint = _copied_endpoint(source)
        out = {name: _copied(getattr(source, name)) for name in _FIELDS}
        out["latency_avg_us"] = source.latency_avg_us
        return endpoint, out


#: The fields of an endpoint record, in ``to_dict`` order.
_FIELDS = tuple(field.name for field in dataclasses.fields(ModelEndpoint))
#: Values a copy may share: immutable.
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _decoded(item: Mapping[str, Any]) -> ModelEndpoint:
    """The record stored as ``item``, sharing nothing mutable with it (KV items are flat: a dict copy does)."""
    flat = all(type(value) in _SCALARS for value in item.values())
    return ModelEndpoint.from_item(dict(item) if flat else copy.deepcopy(dict(item)))


def _copied_endpoint(endpoint: ModelEndpoint) -> ModelEndpoint:
    """``endpoint`` with its own copies of its dicts and lists (``dataclasses.replace`` would share them)."""
    return ModelEndpoint(**{name: _copied(getattr(endpoint, name)) for name in _FIELDS})


def _copied(value: Any) -> Any:
    """A copy of a JSON value (dicts, lists, scalars): what decoding its text again gives, at a fraction of it."""
    kind = type(value)
    if kind is dict:
        return {key: item if type(item) in _SCALARS else _copied(item) for key, item in value.items()}
    if kind is list:
        return [item if type(item) in _SCALARS else _copied(item) for item in value]
    return copy.deepcopy(value) if kind not in _SCALARS else value
