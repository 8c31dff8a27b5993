"""Which windows hold requests, answered from the per-minute request counts in the TSDB.

The controller skips windows without rows; reading the sample store to find out would read whole
windows, while the ``predictions`` table already counts requests per endpoint and minute. Failed
requests are counted only in the ``errors`` table, so both are read: a window in which the model
failed every request is an outage to analyse, not an empty window. One TSDB read per table,
aggregated by the base period, covers every endpoint of a run (plus one for laggards), and the
windows of every pair of the run are then answered together (:meth:`RequestActivity.busy_many`).
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
    """The base-period buckets with at least one request, per endpoint.

    Held as two arrays sorted by (endpoint, bucket start), an endpoint code and a time per bucket, rather
    than one small array per endpoint: with 100,000 endpoints, building and searching those one by one
    took most of the controller's time.
    """

    def __init__(self, codes: Mapping[str, int], endpoint_codes: IntArray, times: IntArray) -> None:
        self._codes = codes  # endpoint id -> code
        order = np.lexsort((times, endpoint_codes))
        self._endpoint_codes: IntArray = endpoint_codes[order]
        self._times: IntArray = times[order]

    @classmethod
    def load(cls, tsdb: TSDB, tables: str | Sequence[str], ranges: Mapping[str, tuple[int, int]],
             step_ms: int) -> RequestActivity:
        """Request counts per ``step_ms`` bucket of each endpoint's ``(start, end)`` range, in any of ``tables``.

        One read covers the range most endpoints need; endpoints that lag further behind (an
        endpoint back after a long idle spell, a new app backfilling) get one more read, filtered to
        them, so that a single laggard never makes the controller read every endpoint's history.
        """
        empty = np.empty(0, dtype=np.int64)
        if not ranges:
            return cls({}, empty, empty)
        end = ceil_to(max(e for _, e in ranges.values()), step_ms)
        starts = sorted(floor_to(s, step_ms) for s, _ in ranges.values())
        common = starts[int(len(starts) * _COMMON_SHARE)]
        lagging = sorted(ep for ep, (s, _) in ranges.items() if s < common)
        frames = []
        for table in [tables] if isinstance(tables, str) else tables:
            frames.append(cls._read(tsdb, table, common, end, step_ms, None))
            if lagging:
                frames.append(cls._read(tsdb, table, starts[0], common, step_ms, lagging))
        frames = [df for df in frames if not df.empty]
        if not frames:
            return cls({}, empty, empty)
        ids = pd.concat([df["endpoint_id"] for df in frames], ignore_index=True).astype(str)
        endpoint_codes, names = pd.factorize(ids)
        times = np.concatenate([df["time"].to_numpy(dtype=np.int64) for df in frames])
        codes = {str(name): code for code, name in enumerate(names.tolist())}
        return cls(codes, endpoint_codes.astype(np.int64), times)

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
        code = self._codes.get(endpoint_id)
        window = np.fromiter(starts, dtype=np.int64)
        if code is None or not window.size:
            return []
        lo, hi = np.searchsorted(self._endpoint_codes, [code, code + 1], side="left")
        times = self._times[lo:hi]
        held = np.searchsorted(times, window + period_ms, side="left") > np.searchsorted(times, window, side="left")
        busy: list[int] = window[held].tolist()
        return busy

    def busy_many(self, queries: Sequence[tuple[str, range]]) -> list[list[int]]:
        """For each ``(endpoint_id, windows)``, the starts of ``windows`` (a range whose step is the window
        length) whose window holds requests: :meth:`busy` of every pair of a run in a few array operations."""
        lengths = np.fromiter((len(r) for _, r in queries), dtype=np.int64, count=len(queries))
        total = int(lengths.sum())
        if not total or not self._times.size:
            return [[] for _ in queries]
        first = np.fromiter((r.start for _, r in queries), dtype=np.int64, count=len(queries))
        step = np.fromiter((r.step for _, r in queries), dtype=np.int64, count=len(queries))
        code = np.fromiter((self._codes.get(ep, -1) for ep, _ in queries), dtype=np.int64, count=len(queries))
        offsets = np.cumsum(lengths) - lengths
        nth = np.arange(total, dtype=np.int64) - np.repeat(offsets, lengths)
        period, code = np.repeat(step, lengths), np.repeat(code, lengths)
        window = np.repeat(first, lengths) + nth * period
        # one sorted key per (endpoint, time): the code times a span longer than every time involved
        origin = min(int(window.min()), int(self._times.min()))
        span = max(int((window + period).max()), int(self._times.max())) - origin + 1
        if span * (len(self._codes) + 1) >= 1 << 62:  # times too far apart for one int64 key: one by one
            return [self.busy(ep, r, r.step) for ep, r in queries]
        keys = self._endpoint_codes * span + (self._times - origin)
        base = code * span - origin
        held = np.searchsorted(keys, base + window + period, side="left") > np.searchsorted(keys, base + window,
                                                                                          side="left")
        held &= code >= 0
        found: list[int] = window[held].tolist()
        before = np.concatenate([[0], np.cumsum(held)])
        ends = before[offsets + lengths].tolist()
        return [found[start:end] for start, end in zip(before[offsets].tolist(), ends, strict=True)]
