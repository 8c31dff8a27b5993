"""Fixtures shared by the end-to-end modules."""

from __future__ import annotations

import pytest
import v3io_frames
from pipeline_checks import demo_config, v3io_storage
from v3io_server.stack import ACCESS_KEY, running_servers

from modelmon.demo.session import DemoSession


@pytest.fixture(scope="package")
def dashboards_run(tmp_path_factory):
    """One whole demo pipeline run on the ``v3io`` backend (V3IO and framesd test servers), for the modules
    that check MLRun's dashboard panels on it, and a frames client of the ``users`` container."""
    with running_servers() as (web, frames), \
            DemoSession(demo_config(tmp_path_factory, "dashboards"), storage=v3io_storage(web, frames)) as session:
        session.send_traffic()
        session.wait_for_windows(timeout_s=60)
        yield session, v3io_frames.Client(address=frames.address, container="users", token=ACCESS_KEY)
