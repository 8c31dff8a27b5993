"""When a controller tick should run once more: at the window boundary that falls before the next tick.

A cron tick comes at any phase of the windows: with a 1-second interval a window closing at a minute's turn
waited half a second on average (a second at worst) for the next tick, a quarter of the time to detect the
benchmark measured. Without a grace, the windows of endpoints whose traffic has moved on or stopped close
exactly at a boundary of the base period; with one, an idle endpoint's window closes the grace after its last
request, which for traffic running up to a window's end is about the boundary plus the grace. So a tick that
finds the next boundary plus the grace before the next tick waits for it and runs again: those windows are
dispatched as they close, not up to a tick later. Running twice is harmless (all progress is in KV, claims are
compare-and-sets); a close the instant misses is dispatched by the next tick as before.

The cron's interval is not known to the handler; it is the shortest gap seen between recent ticks, and the
wait is bounded by :data:`MAX_WAIT_S` so that a slow cron never holds a handler call long.
"""

from __future__ import annotations

import collections

from modelmon.controller.windows import ceil_to

#: The longest a tick waits for a boundary, in seconds.
MAX_WAIT_S = 2.0
#: How far past the boundary the tick runs again: sleeps and clocks round.
_PAST_MS = 5
#: Gaps between ticks remembered to estimate the cron's interval.
_GAPS = 8


class BoundaryPacer:
    """Tells a tick how long to wait for the next close of ``period_ms`` windows (a boundary plus ``grace_ms``),
    if it comes first."""

    def __init__(self, period_ms: int, *, grace_ms: int = 0, max_wait_s: float = MAX_WAIT_S) -> None:
        self.period_ms = period_ms
        self.grace_ms = grace_ms
        self.max_wait_s = max_wait_s
        self._last_tick_ms: int | None = None
        self._gaps: collections.deque[int] = collections.deque(maxlen=_GAPS)

    def tick(self, now_ms: int) -> None:
        """A tick began at ``now_ms``."""
        if self._last_tick_ms is not None and now_ms > self._last_tick_ms:
            self._gaps.append(now_ms - self._last_tick_ms)
        self._last_tick_ms = now_ms

    def wait_s(self, now_ms: int) -> float | None:
        """Seconds from ``now_ms`` to the next boundary when it comes before the next tick is expected (and
        within ``max_wait_s``), else ``None``. Nothing before two ticks have shown the interval.

        >>> pacer = BoundaryPacer(60_000)
        >>> pacer.tick(119_000); pacer.tick(119_500); pacer.wait_s(119_600)
        0.405
        >>> pacer.wait_s(100_000) is None  # the boundary is past the next tick
        True
        """
        if not self._gaps:
            return None
        boundary = ceil_to(now_ms + 1 - self.grace_ms, self.period_ms) + self.grace_ms
        wait_ms = boundary - now_ms
        if wait_ms > min(min(self._gaps), self.max_wait_s * 1000):
            return None
        return (wait_ms + _PAST_MS) / 1000
