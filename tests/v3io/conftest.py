"""Both protocol servers per test, and the ``v3io`` backend opened on them (test modules may define their own)."""

from __future__ import annotations

import pytest
from v3io_server.stack import V3ioOpener, running_servers


@pytest.fixture
def servers():
    with running_servers() as pair:
        yield pair


@pytest.fixture
def backend(servers):
    web, frames = servers
    opened = V3ioOpener(api=web.url, framesd=frames.address, port=web.port)()
    yield opened
    opened.close()
