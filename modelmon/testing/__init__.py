"""Fakes for tests and notebooks: collaborators that need no backend and no wall clock.

Production code imports none of this; the in-memory object store is a real backend piece
(:mod:`modelmon.backends.memory`) and is re-exported here so tests find every fake in one place.
"""

from __future__ import annotations

from modelmon.backends.memory import InMemoryObjectStore
from modelmon.testing.clock import ManualClock
from modelmon.testing.streams import MemoryStream, stream_records

__all__ = ["InMemoryObjectStore", "ManualClock", "MemoryStream", "stream_records"]
