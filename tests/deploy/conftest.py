from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from deploy_paths import BUNDLE
from nuclio_dashboard import NuclioDashboard


@pytest.fixture
def bundle() -> Path:
    """A small bundle shaped like the real one: stream at the root, controller, writer, one app."""
    return BUNDLE


@pytest.fixture
def dashboard(monkeypatch) -> Iterator[NuclioDashboard]:
    """A running test dashboard; nuclio-jupyter sends no credentials to it."""
    monkeypatch.delenv("V3IO_ACCESS_KEY", raising=False)
    monkeypatch.delenv("NUCLIO_DROP_API", raising=False)
    with NuclioDashboard(building_polls=1) as server:
        yield server
