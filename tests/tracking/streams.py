"""Streams for tracking tests: the local backend's stream, with an outage switch."""

from __future__ import annotations

import threading

from modelmon.backends.base import Stream
from modelmon.core.errors import BackendUnavailable


class FlakyStream:
    """Delegates to ``inner`` except while ``down`` is set: then every put raises (and is counted)."""

    def __init__(self, inner: Stream) -> None:
        self.inner = inner
        self.down = threading.Event()
        self.failed_puts = 0

    def create(self, path, shards=1, retention_hours=24):
        return self.inner.create(path, shards, retention_hours)

    def put_records(self, path, records):
        if self.down.is_set():
            self.failed_puts += 1
            raise BackendUnavailable("stream is down (test outage)")
        return self.inner.put_records(path, records)

    def __getattr__(self, name):
        return getattr(self.inner, name)
