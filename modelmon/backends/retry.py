"""How often, and after how long, a backend tries a call again after a transient failure."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """At most ``attempts`` tries; before try ``i`` sleep uniform(0, min(cap_s, base_s * 2**i)) (full jitter,
    so clients that failed together do not come back together)."""

    attempts: int = 6
    base_s: float = 0.05
    cap_s: float = 2.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base_s < 0 or self.cap_s < 0:
            raise ValueError(f"retry policy {self}: attempts must be >= 1 and delays >= 0")

    def delays(self, rng: random.Random) -> Iterator[float]:
        for i in range(self.attempts - 1):
            yield rng.uniform(0, min(self.cap_s, self.base_s * 2**i))
