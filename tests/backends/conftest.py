from __future__ import annotations

import pytest
from registry import BACKENDS


class FakeClock:
    """Epoch ms that only move when a test says so."""

    def __init__(self, now: int = 1_700_000_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


@pytest.fixture(params=sorted(BACKENDS))
def opener(request, tmp_path):
    """Opens the backend under test (any number of times, in any process)."""
    with BACKENDS[request.param](tmp_path) as open_backend:
        yield open_backend


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def backend(opener, clock):
    backend = opener(clock=clock)
    yield backend
    backend.close()
