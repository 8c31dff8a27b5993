from __future__ import annotations

import pytest
from registry import BACKENDS

from modelmon.testing import ManualClock


@pytest.fixture(params=sorted(BACKENDS))
def opener(request, tmp_path):
    """Opens the backend under test (any number of times, in any process)."""
    with BACKENDS[request.param](tmp_path) as open_backend:
        yield open_backend


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def backend(opener, clock):
    backend = opener(clock=clock)
    yield backend
    backend.close()
