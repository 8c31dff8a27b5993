"""Records each scheduled tick (time and JSON body) in memory."""

from __future__ import annotations

import time

FIRED: list[tuple[float, object]] = []


def handler(context, event):
    FIRED.append((time.time(), event.body))
