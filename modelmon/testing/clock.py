"""A clock a test moves by hand, for every collaborator that takes ``clock: Callable[[], int]``.

>>> clock = ManualClock(1_000)
>>> clock.advance(500)
>>> clock()
1500
"""

from __future__ import annotations

#: Nov 2023 in epoch ms: a realistic "now" for tests that do not care which.
DEFAULT_NOW_MS = 1_700_000_000_000


class ManualClock:
    """Epoch milliseconds that only move when the test says so (set ``now`` or call ``advance``)."""

    def __init__(self, now: int = DEFAULT_NOW_MS) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms
