"""Which windows hold requests, answered from the per-minute prediction counts in the TSDB.

The controller skips windows without rows; reading the sample store to find out would read whole
windows, while the ``predictions`` table already counts requests per endpoint and minute. One TSDB
read, aggregated by the base period, covers every endpoint of a run.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from modelmon.backends.base import TSDB
from modelmon.controller.windows import ceil_to, floor_to
from modelmon.errors import NotFound


class RequestActivity:
    """The base-period buckets with at least one request, per endpoint."""

    def __init__(self, buckets: dict[str, np.ndarray]) -> None:
        self._buckets = buckets  # endpoint id -> sorted int64 bucket starts with requests

    @classmethod
    def load(cls, tsdb: TSDB, table: str, start_ms: int, end_ms: int, step_ms: int) -> RequestActivity:
        """Read the request counts of ``[start_ms, end_ms)`` for all endpoints, ``step_ms`` per bucket."""
        start, end = floor_to(start_ms, step_ms), ceil_to(end_ms, step_ms)
        if end <= start:
            return cls({})
        try:
            df = tsdb.read(table, start, end, columns=["count"], step=step_ms, aggregators=["sum"])
        except NotFound:  # no endpoint has reported a request yet
            return cls({})
        if df.empty:
            return cls({})
        df = df[df["sum(count)"] > 0]
        buckets: dict[str, np.ndarray] = {}
        for endpoint_id, times in df.groupby("endpoint_id", sort=False)["time"]:
            buckets[str(endpoint_id)] = np.sort(times.to_numpy(dtype=np.int64))
        return cls(buckets)

    def busy(self, endpoint_id: str, starts: Iterable[int], period_ms: int) -> list[int]:
        """Those of ``starts`` whose window ``[s, s + period_ms)`` holds requests."""
        times = self._buckets.get(endpoint_id)
        starts = np.fromiter(starts, dtype=np.int64)
        if times is None or not len(starts):
            return []
        lo = np.searchsorted(times, starts, side="left")
        hi = np.searchsorted(times, starts + period_ms, side="left")
        return starts[hi > lo].tolist()
