from __future__ import annotations

from pathlib import Path

import pytest

# the bundles hold handler modules imported by the runtime, not by pytest
collect_ignore_glob = ["bundles/*"]

BUNDLES = Path(__file__).parent / "bundles"


@pytest.fixture
def bundles() -> Path:
    return BUNDLES
