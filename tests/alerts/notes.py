"""Notifications for the delivery tests (``modelmon.alerts.notification.Notification``)."""

from __future__ import annotations

from typing import Any

from modelmon.alerts.notification import Notification, notification_key

HOUR = 3_600_000


def notes(count: int, channels: tuple[dict[str, Any], ...], config: str = "drift-cfg") -> list[Notification]:
    """``count`` activations of one result, a window an hour apart."""
    out = []
    for i in range(count):
        end = 1_700_000_000_000 + (i + 1) * HOUR
        out.append(Notification(
            key=notification_key(config, "ep1", "drift", "general_drift", end, "active"), config=config,
            severity="high", state="active", summary=f"general_drift detected on churn (window {i})",
            endpoint_id="ep1", endpoint_name="churn", app="drift", result="general_drift", value=0.7,
            status="detected", window_start_ms=end - HOUR, window_end_ms=end, time_ms=end + 1000,
            channels=channels))
    return out
