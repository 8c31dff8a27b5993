from __future__ import annotations

import pytest
from ingest_fixtures import PROJECT, StreamFunction

#: The records of these tests are dated in 2024 (fixed, so the expected values are too): accept them.
CENTURY_MINUTES = str(100 * 365 * 24 * 60)


@pytest.fixture
def fn(home, monkeypatch):
    monkeypatch.setenv("MODELMON_PROJECT", PROJECT)
    monkeypatch.setenv("MODELMON_MAX_EVENT_AGE_MINUTES", CENTURY_MINUTES)
    function = StreamFunction(home)
    yield function
    function.close()
