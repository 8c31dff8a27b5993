"""What the Nuclio glue of every modelmon function asks of the platform and its events.

The deployable handlers (``controller/``, ``writer/``, ``apps/``, ``functions/``) stay thin: they register a
shutdown hook and read a record's stream position the same way, here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def on_shutdown(context: Any, callback: Callable[[], None]) -> None:
    """Have the platform call ``callback`` when the worker stops; a no-op where there is no such hook.

    ``nuclio_sdk.test.Platform`` lacks ``set_termination_callback``; the real platform and
    ``modelmon run`` have it.
    """
    set_callback = getattr(context.platform, "set_termination_callback", None)
    if callable(set_callback):
        set_callback(callback)


def stream_position(event: Any) -> tuple[int | None, int | None]:
    """``(shard, sequence)`` of a stream record; ``(None, None)`` outside stream triggers (HTTP, tests)."""
    shard = event.shard_id if isinstance(event.shard_id, int) else None
    sequence = event.offset if shard is not None and isinstance(event.offset, int) else None
    return shard, sequence
