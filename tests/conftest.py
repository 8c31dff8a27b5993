from __future__ import annotations

import pytest

from modelmon.backends import make_backend
from modelmon.core.config import Settings


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh modelmon home directory, also set as MODELMON_HOME for code that reads the env."""
    path = tmp_path / "modelmon-home"
    monkeypatch.setenv("MODELMON_HOME", str(path))
    monkeypatch.setenv("MODELMON_BACKEND", "local")
    return path


@pytest.fixture
def settings(home) -> Settings:
    return Settings(home=str(home), project="test")


@pytest.fixture
def backend(settings):
    """The local backend in ``home``, closed after the test (folders with other backends override it)."""
    b = make_backend(settings)
    yield b
    b.close()
