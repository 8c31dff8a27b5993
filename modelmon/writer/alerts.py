"""A small alert hook: the writer calls a notifier for every result that reaches ``detected``."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any, Protocol

from modelmon.backends.base import KV, Update
from modelmon.core.results import stored_value


@dataclasses.dataclass(frozen=True)
class Alert:
    """Result ``result_name`` of ``app_name`` detected a problem in window ``[start_ms, end_ms)``."""

    endpoint_id: str
    app_name: str
    result_name: str
    value: float
    kind: int
    start_ms: int
    end_ms: int
    extra_data: dict[str, Any]

    @property
    def key(self) -> str:
        """One alert per result and window: a redelivered event raises the same alert again, not a new one."""
        return f"{self.endpoint_id}.{self.app_name}.{self.result_name}.{self.end_ms}"


class Notifier(Protocol):
    def notify_all(self, alerts: Sequence[Alert]) -> None:
        """Deliver ``alerts``: those of one writer event, or of a batch of them (``ResultWriter.write_many``);
        called at least once per detected result and window."""


class KVAlertLog:
    """Keeps alerts as KV items (``paths.alerts_table``), for the CLI, dashboards or a poller."""

    def __init__(self, kv: KV, table: str) -> None:
        self._kv = kv
        self._table = table

    def notify(self, alert: Alert) -> None:
        self.notify_all([alert])

    def notify_all(self, alerts: Sequence[Alert]) -> None:
        """One item per alert, all in one batch (every attribute is set, so an update replaces the item)."""
        self._kv.update_many(self._table, [Update(alert.key, _item(alert)) for alert in alerts])


def _item(alert: Alert) -> dict[str, Any]:
    """The alert's KV item: its fields (by hand: ``dataclasses.asdict`` deep-copies ``extra_data``)."""
    item = {field.name: getattr(alert, field.name) for field in _FIELDS}
    item["extra_data"] = json.dumps(alert.extra_data)
    item["value"] = stored_value(alert.value)  # KV keeps no NaN: a missing value is None
    return item


_FIELDS = dataclasses.fields(Alert)
