"""The app function's copy of its endpoints' reference rows: read once per endpoint and reference.

Windows of one endpoint arrive again and again; its reference rows (up to 20,000 rows, kept at
registration) change only when it is registered again. So the runner keeps them, keyed by the digest
of the endpoint's ``feature_stats`` (which every window's context has already read): a new reference has
a new digest and is read afresh. An endpoint without rows is asked again after ``absent_ms`` (rows may be
registered later). Memory is bounded by ``max_bytes``: the least recently used endpoints are dropped.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Callable

import pandas as pd

from modelmon.backends.base import ObjectStore
from modelmon.core.paths import ProjectPaths
from modelmon.core.timeutil import now_ms
from modelmon.endpoints.reference_rows import read_reference_rows

#: Reference rows kept in memory by default across endpoints.
DEFAULT_MAX_BYTES = 128 * 2**20
#: How long "this endpoint has no reference rows" is believed.
DEFAULT_ABSENT_MS = 60_000


@dataclasses.dataclass
class _Entry:
    digest: str
    frame: pd.DataFrame | None
    read_ms: int
    nbytes: int


class ReferenceRowsCache:
    """Reference rows per endpoint for :func:`~modelmon.apps.runner.window_context.build_context`."""

    def __init__(self, objects: ObjectStore, paths: ProjectPaths, *, clock: Callable[[], int] = now_ms,
                 max_bytes: int = DEFAULT_MAX_BYTES, absent_ms: int = DEFAULT_ABSENT_MS) -> None:
        self._objects = objects
        self._paths = paths
        self._clock = clock
        self.max_bytes = max_bytes
        self.absent_ms = absent_ms
        self._entries: collections.OrderedDict[str, _Entry] = collections.OrderedDict()
        self._nbytes = 0  # the entries' sum, kept as they come and go: summing them per read grew with endpoints
        self.reads = 0  #: object-store reads so far (what the cache saves is visible in tests)

    def rows(self, endpoint_id: str, digest: str) -> pd.DataFrame | None:
        """The endpoint's reference rows if they belong to the reference of ``digest``, else ``None``."""
        entry = self._entries.get(endpoint_id)
        now = self._clock()
        if entry is not None and entry.digest == digest and (
                entry.frame is not None or now - entry.read_ms < self.absent_ms):
            self._entries.move_to_end(endpoint_id)
            return None if entry.frame is None else entry.frame.copy(deep=False)  # new columns stay the app's
        self.reads += 1
        stored = read_reference_rows(self._objects, self._paths, endpoint_id)
        frame = stored.frame if stored is not None and stored.stats_digest == digest else None
        nbytes = 0 if frame is None else int(frame.memory_usage(index=False, deep=True).sum())
        if entry is not None:
            self._nbytes -= entry.nbytes
        self._entries[endpoint_id] = _Entry(digest, frame, now, nbytes)
        self._nbytes += nbytes
        self._entries.move_to_end(endpoint_id)
        self._evict(keep=endpoint_id)
        return None if frame is None else frame.copy(deep=False)

    @property
    def nbytes(self) -> int:
        return self._nbytes

    def _evict(self, keep: str) -> None:
        if self._nbytes <= self.max_bytes:
            return
        for endpoint_id in list(self._entries):
            if self._nbytes <= self.max_bytes:
                return
            if endpoint_id != keep:
                self._nbytes -= self._entries.pop(endpoint_id).nbytes
