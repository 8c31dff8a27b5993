from __future__ import annotations

import pytest
from ingest_fixtures import PROJECT, StreamFunction


@pytest.fixture
def fn(home, monkeypatch):
    monkeypatch.setenv("MODELMON_PROJECT", PROJECT)
    function = StreamFunction(home)
    yield function
    function.close()
