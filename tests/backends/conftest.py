from __future__ import annotations

import pytest
from fsspec_openers import STORE_BACKENDS
from registry import BACKENDS

from modelmon.testing import ManualClock


@pytest.fixture(params=sorted(BACKENDS))
def opener(request, tmp_path):
    """Opens the backend under test (any number of times, in any process)."""
    with BACKENDS[request.param](tmp_path) as open_backend:
        yield open_backend


@pytest.fixture(params=sorted(BACKENDS) + sorted(STORE_BACKENDS))
def files_opener(request, tmp_path):
    """Every backend, and the backends whose samples and objects are the fsspec stores (``file://``, ``s3://``
    on moto): what the sample and object contract tests take as their ``opener``."""
    factory = BACKENDS.get(request.param) or STORE_BACKENDS[request.param]
    with factory(tmp_path) as open_backend:
        yield open_backend


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def backend(opener, clock):
    backend = opener(clock=clock)
    yield backend
    backend.close()


def pytest_collection_modifyitems(config, items):
    """Leave out the backend parameters a test module names in ``EXCLUDED_BACKENDS`` (test name → backend →
    why the contract cannot hold there); they are reported as deselected, never run as skips."""
    keep, excluded = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        reasons = getattr(item.module, "EXCLUDED_BACKENDS", {}).get(getattr(item, "originalname", ""), {})
        (excluded if callspec is not None and callspec.params.get("opener") in reasons else keep).append(item)
    if excluded:
        config.hook.pytest_deselected(items=excluded)
        items[:] = keep
