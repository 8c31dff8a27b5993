from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from deploy_paths import BUNDLE, SOURCE
from nuclio_dashboard import NuclioDashboard
from v3io_server.stack import ACCESS_KEY, running_servers


@pytest.fixture
def bundle() -> Path:
    """A small bundle shaped like the real one: stream at the root, controller, writer, one app."""
    return BUNDLE


@pytest.fixture
def dashboard(monkeypatch) -> Iterator[NuclioDashboard]:
    """A running test dashboard; nuclio-jupyter sends no credentials to it. ``$MODELMON_SOURCE`` names an archive
    of the bundle, as a user deploying to a dashboard sets it (or passes --source / source=)."""
    monkeypatch.delenv("V3IO_ACCESS_KEY", raising=False)
    monkeypatch.setenv("MODELMON_SOURCE", SOURCE)
    monkeypatch.delenv("NUCLIO_DROP_API", raising=False)
    with NuclioDashboard(building_polls=1) as server:
        yield server


@pytest.fixture
def v3io_env(monkeypatch) -> Iterator[None]:
    """V3IO web-API and frames test servers, named by the environment as on a cluster: the SDK of a
    project on the nuclio target keeps its registry and reads results there, as deployed functions do."""
    with running_servers() as (web, frames):
        monkeypatch.setenv("V3IO_API", web.url)
        monkeypatch.setenv("V3IO_FRAMESD", frames.address)
        monkeypatch.setenv("V3IO_ACCESS_KEY", ACCESS_KEY)
        yield
