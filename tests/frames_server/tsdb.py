"""In-memory TSDB tables with v3io-tsdb's write and query semantics.

A series is (labels, metric), as in v3io-tsdb where every column is its own metric. Writes are
first-write-wins: a sample whose time is at or before the latest time of its series is dropped
silently, as v3io-tsdb's appender does unless ``OverrideOld`` is set (``pkg/appender/store.go``,
``chunkStore.writeChunks``), which framesd never sets. A missing value (NaN) is still a sample there,
so it moves the series' latest time, though nothing is stored for it here.

Queries cover ``[start, end]`` (both inclusive, as v3io-tsdb), raw or in ``step`` buckets
``[start + k*step, start + (k+1)*step)`` stamped with their start; empty buckets are left out.

Text values: v3io-tsdb stores a metric whose first sample is not a number as a string metric (variant
encoding, ``pkg/appender/appender.go`` ``MetricsCache.Add``; framesd passes a frame's STRING columns through,
``backends/tsdb/writer.go``), and refuses a number for it later, or text for a numeric one ("Cannot append
string type metric to numeric type metric."). A raw read returns it as a STRING column ("" and a null mark
where a row has no sample, ``pkg/pquerier/frames.go``). Aggregates of it are meaningless there (pre-aggregates
skip it, client-side aggregation reads each sample as 0): this server refuses them, so a query that would
chart zeros fails a test instead.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d)$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}

LabelKey = tuple[tuple[str, str], ...]
Value = float | str
SeriesRows = tuple[LabelKey, list[int], dict[str, list[Value | None]]]


def duration_ms(text: str) -> int:
    """``"90s"`` → 90000."""
    m = _DURATION.match(text.strip())
    if not m or int(m[1]) == 0:
        raise ValueError(f"bad duration {text!r}: expected e.g. 500ms, 10s, 5m, 1h, 1d")
    return int(m[1]) * _UNIT_MS[m[2]]


def time_ms(text: str, now_ms: int) -> int:
    """A frames time: epoch ms, RFC 3339, ``now`` or ``now-<duration>``."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    if text == "now":
        return now_ms
    if text.startswith("now-"):
        return now_ms - duration_ms(text[4:])
    try:
        return int(pd.Timestamp(text).tz_convert("UTC").value // 1_000_000)
    except (ValueError, TypeError):
        raise ValueError(f"bad time {text!r}") from None


def _aggregate(name: str, samples: list[tuple[int, Any]]) -> float:
    values = [v for _, v in samples]
    match name:
        case "count":
            return float(len(values))
        case "sum":
            return math.fsum(values)
        case "avg":
            return math.fsum(values) / len(values)
        case "min":
            return min(values)
        case "max":
            return max(values)
        case "last":
            return max(samples)[1]
    raise ValueError(f"unsupported aggregator {name!r}")


@dataclasses.dataclass
class Table:
    rate: str
    aggregates: str
    series: dict[LabelKey, dict[str, dict[int, Value]]] = dataclasses.field(default_factory=dict)
    latest: dict[tuple[LabelKey, str], int] = dataclasses.field(default_factory=dict)  # series → max time (ms)
    text: set[tuple[LabelKey, str]] = dataclasses.field(default_factory=set)  # string metrics
    numeric: set[tuple[LabelKey, str]] = dataclasses.field(default_factory=set)  # numeric metrics
    dropped: int = 0  # samples refused for being at or before their series' latest time

    def add(self, time_ns: int, labels: Mapping[str, str], metrics: Mapping[str, Value | None]) -> None:
        """Append one row's samples; each one at or before its series' latest time is dropped."""
        key = tuple(sorted(labels.items()))
        at = time_ns // 1_000_000
        stored = self.series.setdefault(key, {})
        for metric, value in metrics.items():
            if value is not None:
                self._check_kind(key, metric, isinstance(value, str))
            latest = self.latest.get((key, metric))
            if latest is not None and at <= latest:
                self.dropped += 1
                continue
            self.latest[(key, metric)] = at
            if isinstance(value, str):
                stored.setdefault(metric, {})[at] = value
            elif value is not None and not (isinstance(value, float) and math.isnan(value)):
                stored.setdefault(metric, {})[at] = float(value)

    def _check_kind(self, key: LabelKey, metric: str, text: bool) -> None:
        """A metric keeps the kind of its first sample (v3io-tsdb's message when another kind comes)."""
        series = (key, metric)
        if series in (self.numeric if text else self.text):
            new, old = ("string", "numeric") if text else ("numeric", "string")
            raise ValueError(f"Cannot append {new} type metric to {old} type metric.")
        (self.text if text else self.numeric).add(series)

    def is_text(self, key: LabelKey, metric: str) -> bool:
        return (key, metric) in self.text

    def query(self, start: int, end: int, keep: Callable[[Mapping[str, Any]], bool], columns: list[str],
              step: int | None, aggregators: list[str]) -> list[SeriesRows]:
        """Per matching series: (labels, row times in ms, column name → values)."""
        out = []
        for key in sorted(self.series):
            if not keep(dict(key)):
                continue
            metrics = {m: s for m, s in self.series[key].items() if not columns or m in columns}
            in_range = {m: sorted((t, v) for t, v in s.items() if start <= t <= end) for m, s in metrics.items()}
            in_range = {m: s for m, s in in_range.items() if s}
            if not in_range:
                continue
            if not aggregators:
                times = sorted({t for s in in_range.values() for t, _ in s})
                table = {m: [dict(s).get(t) for t in times] for m, s in sorted(in_range.items())}
                out.append((key, times, table))
                continue
            text = sorted(m for m in in_range if self.is_text(key, m))
            if text:
                raise ValueError(f"cannot aggregate the string metric(s) {text}: v3io-tsdb has no aggregates of text")
            width = step or (end - start + 1)
            buckets = sorted({(t - start) // width for s in in_range.values() for t, _ in s})
            grouped = {m: {b: [(t, v) for t, v in s if (t - start) // width == b] for b in buckets}
                       for m, s in in_range.items()}
            table = {f"{agg}({m})": [_aggregate(agg, grouped[m][b]) if grouped[m][b] else None for b in buckets]
                     for m in sorted(grouped) for agg in aggregators}
            out.append((key, [start + b * width for b in buckets], table))
        return out
