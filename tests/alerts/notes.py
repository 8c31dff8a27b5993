"""Notifications for the delivery tests: the shape ``modelmon.alerts.notification.Notification`` has."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class Note:
    key: str
    summary: str
    channels: tuple[dict[str, Any], ...]
    severity: str = "high"
    state: str = "active"
    endpoint_name: str = "churn"
    app: str = "drift"
    result: str = "general_drift"
    value: float = 0.7

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "channels"}


def notes(count: int, channels: tuple[dict[str, Any], ...], prefix: str = "cfg.ep1.drift") -> list[Note]:
    return [Note(f"{prefix}.w{i}.active", f"drift on churn window {i}", channels) for i in range(count)]
