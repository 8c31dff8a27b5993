"""Which windows hold requests, answered from the per-minute request counts in the TSDB.

The controller skips windows without rows; reading the sample store to find out would read whole
windows, while the ``predictions`` table already counts requests per endpoint and minute. Failed
requests are counted only in the ``errors`` table, so both are read: a window in which the model
failed every request is an outage to analyse, not an empty window. One TSDB read per table,
aggregated by the base period, covers every endpoint of a run (plus one for laggards).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from modelmon.backends.base import TSDB
from modelmon.controller.windows import ceil_to, floor_to
from modelmon.core.arrays import IntArray
from modelmon.core.errors import NotFound

#: Share of the endpoints, those furthest behind, that may be read separately from the others.
_COMMON_SHARE = 0.1


class RequestActivity:
    """The base-period buckets with at least one request, per endpoint."""

    def __init__(self, buckets: dict[str, IntArray]) -> None:
        self._buckets = buckets  # endpoint id -> sorted int64 bucket starts with requests

    @classmethod
    def load(cls, tsdb: TSDB, tables: str | Sequence[str], ranges: Mapping[str, tuple[int, int]],
             step_ms: int) -> RequestActivity:
        """Request counts per ``step_ms`` bucket of each endpoint's ``(start, end)`` range, in any of ``tables``.

        One read covers the range most endpoints need; endpoints that lag further behind (an
        endpoint back after a long idle spell, a new app backfilling) get one more read, filtered to
        them, so that a single laggard never makes the controller read every endpoint's history.
        """
        if not ranges:
            return cls({})
        end = ceil_to(max(e for _, e in ranges.values()), step_ms)
        starts = sorted(floor_to(s, step_ms) for s, _ in ranges.values())
        common = starts[int(len(starts) * _COMMON_SHARE)]
        lagging = sorted(ep for ep, (s, _) in ranges.items() if s < common)
        frames = []
        for table in [tables] if isinstance(tables, str) else tables:
            frames.append(cls._read(tsdb, table, common, end, step_ms, None))
            if lagging:
                frames.append(cls._read(tsdb, table, starts[0], common, step_ms, lagging))
        buckets: dict[str, list[IntArray]] = {}
        for df in frames:
            for endpoint_id, times in df.groupby("endpoint_id", sort=False)["time"]:
                buckets.setdefault(str(endpoint_id), []).append(times.to_numpy(dtype=np.int64))
        return cls({ep: np.unique(np.concatenate(parts)) for ep, parts in buckets.items()})

    @staticmethod
    def _read(tsdb: TSDB, table: str, start: int, end: int, step_ms: int,
              endpoints: Sequence[str] | None) -> pd.DataFrame:
        empty = pd.DataFrame({"time": pd.Series(dtype="int64"), "endpoint_id": pd.Series(dtype="object")})
        if end <= start:
            return empty
        try:
            df = tsdb.read(table, start, end, columns=["count"], step=step_ms, aggregators=["sum"],
                           filters=None if endpoints is None else {"endpoint_id": list(endpoints)})
        except NotFound:  # no endpoint has reported a request yet
            return empty
        return empty if df.empty else df[df["sum(count)"] > 0]

    def busy(self, endpoint_id: str, starts: Iterable[int], period_ms: int) -> list[int]:
        """Those of ``starts`` whose window ``[s, s + period_ms)`` holds requests."""
        times = self._buckets.get(endpoint_id)
        starts = np.fromiter(starts, dtype=np.int64)
        if times is None or not len(starts):
            return []
        lo = np.searchsorted(times, starts, side="left")
        hi = np.searchsorted(times, starts + period_ms, side="left")
        busy: list[int] = starts[hi > lo].tolist()
        return busy
