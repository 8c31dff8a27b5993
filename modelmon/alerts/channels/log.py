"""Log channel: the notification as one line of the delivering function's logger."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

logger = logging.getLogger("modelmon.alerts")


class LogChannel:
    kind = "log"

    def __init__(self, spec: Mapping[str, Any] | None = None, *, log: logging.Logger | None = None) -> None:
        self.log = log or logger

    def describe(self) -> str:
        return "log"

    def send(self, key: str, payload: Mapping[str, Any]) -> None:
        self.log.warning("alert %s: %s %s", key, payload.get("summary"), json.dumps(payload, sort_keys=True))
