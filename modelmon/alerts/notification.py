"""The notification: what the alert evaluator hands to delivery (the contract between the two).

One notification is one transition of one activation (``active`` or ``resolved``) for one window of one
result. ``key`` identifies it across redeliveries of the writer event, so delivery sends each key once per
channel however often it is enqueued.
"""

from __future__ import annotations

import dataclasses
from typing import Any

ACTIVE, RESOLVED = "active", "resolved"


def notification_key(config: str, endpoint_id: str, app: str, result: str, window_end_ms: int, state: str) -> str:
    """The idempotency key of one transition: ``config.endpoint.app.result.window_end_ms.state``."""
    return f"{config}.{endpoint_id}.{app}.{result}.{window_end_ms}.{state}"


@dataclasses.dataclass(frozen=True)
class Notification:
    """One alert transition to send to each of ``channels`` (the config's notification specs)."""

    key: str
    config: str
    severity: str
    state: str  # "active" | "resolved"
    summary: str
    endpoint_id: str
    endpoint_name: str
    app: str
    result: str
    value: float | None
    status: str
    window_start_ms: int
    window_end_ms: int
    time_ms: int
    channels: tuple[dict[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The notification as a JSON object (without the channel specs, which may name secrets' env vars)."""
        data = dataclasses.asdict(self)
        del data["channels"]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], channels: tuple[dict[str, Any], ...] = ()) -> Notification:
        """The notification :meth:`to_json` wrote, with ``channels`` given back separately."""
        fields = {f.name for f in dataclasses.fields(cls)} - {"channels"}
        return cls(**{k: data[k] for k in fields}, channels=channels)
