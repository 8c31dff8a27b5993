"""Window arithmetic: which closed windows of one endpoint an application has not analysed yet.

Windows are ``[t, t + period)`` with ``t`` a multiple of ``period`` since the epoch (UTC), so every
controller run, and every controller process, cuts the same windows. Pure functions, no I/O.
"""

from __future__ import annotations

import dataclasses


def floor_to(ms: int, period_ms: int) -> int:
    """The window start at or before ``ms``.

    >>> floor_to(1_250, 1_000), floor_to(-1, 1_000)
    (1000, -1000)
    """
    return (ms // period_ms) * period_ms


def ceil_to(ms: int, period_ms: int) -> int:
    """The window boundary at or after ``ms``.

    >>> ceil_to(1_250, 1_000), ceil_to(2_000, 1_000)
    (2000, 2000)
    """
    return -((-ms) // period_ms) * period_ms


@dataclasses.dataclass(frozen=True)
class ClosingRule:
    """When windows count as closed: by the endpoint's watermark, or by wall clock once it is idle.

    ``grace_ms``: how long (wall clock) the watermark must stand still before the window holding it
    is closed anyway; ``backfill_ms``: how far back a new application starts.
    """

    period_ms: int
    grace_ms: int
    backfill_ms: int

    def __post_init__(self) -> None:
        if self.period_ms <= 0:
            raise ValueError(f"period_ms={self.period_ms}: must be positive")
        if self.grace_ms < 0 or self.backfill_ms < 0:
            raise ValueError("grace_ms and backfill_ms must not be negative")

    def first_start(self, first_request_ms: int, now_ms: int) -> int:
        """Where a new application starts: ``max(first request, now - backfill)``, floored to a window."""
        return max(floor_to(first_request_ms, self.period_ms), floor_to(now_ms - self.backfill_ms, self.period_ms))

    def closed_until(self, watermark_ms: int | None, now_ms: int, idle_since_ms: int | None) -> int | None:
        """The end of the last closed window (exclusive bound), or ``None`` without a watermark.

        A window is closed when the watermark reached its end. When the watermark has stood still
        since ``idle_since_ms`` (wall clock) for at least ``grace_ms``, the window that holds the
        watermark is closed too, provided its end has passed on the wall clock. A window whose end has
        not passed on the wall clock is never closed: a watermark ahead of ``now_ms`` (a producer's
        clock, a bad event time) must not make the controller plan windows that have not happened.

        >>> rule = ClosingRule(period_ms=600_000, grace_ms=1_800_000, backfill_ms=86_400_000)
        >>> rule.closed_until(1_250_000, now_ms=1_300_000, idle_since_ms=1_260_000)
        1200000
        >>> rule.closed_until(1_250_000, now_ms=3_100_000, idle_since_ms=1_260_000)
        1800000
        >>> rule.closed_until(253_402_300_799_000, now_ms=3_100_000, idle_since_ms=None)
        3000000
        """
        if watermark_ms is None:
            return None
        now = floor_to(now_ms, self.period_ms)
        closed = min(floor_to(watermark_ms, self.period_ms), now)
        if idle_since_ms is not None and now_ms - idle_since_ms >= self.grace_ms:
            closed = max(closed, min(ceil_to(watermark_ms, self.period_ms), now))
        return closed


def window_starts(start_ms: int, end_ms: int, period_ms: int) -> range:
    """Starts of the windows ``[t, t + period)`` that fit in ``[start_ms, end_ms)`` (both aligned).

    >>> list(window_starts(0, 3_000, 1_000))
    [0, 1000, 2000]
    """
    if start_ms % period_ms or end_ms % period_ms:
        raise ValueError(f"window range [{start_ms}, {end_ms}) is not aligned to the period {period_ms}")
    return range(start_ms, end_ms, period_ms)
