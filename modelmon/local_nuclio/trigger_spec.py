"""One trigger of a Nuclio function as the local runtime reads it, and the trigger kinds it runs.

Its own module because both :mod:`~modelmon.local_nuclio.spec` (which validates triggers while
reading a bundle) and the trigger parsers it calls (``cron_schedule``, ``stream_source``) need it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

CRON, HTTP, V3IO_STREAM, KAFKA = "cron", "http", "v3ioStream", "kafka-cluster"
TRIGGER_KINDS = (CRON, HTTP, KAFKA, V3IO_STREAM)
STREAM_KINDS = (V3IO_STREAM, KAFKA)


@dataclasses.dataclass(frozen=True)
class TriggerSpec:
    """One entry of ``spec.triggers``: its ``name``, ``kind``, ``attributes`` and worker count."""

    function: str
    name: str
    kind: str
    attributes: Mapping[str, Any]
    num_workers: int
    source: Path
    url: str | None = None

    def where(self) -> str:
        """``"<file>: trigger <name>"``, the prefix of every error about this trigger."""
        return f"{self.source}: trigger {self.name!r}"
