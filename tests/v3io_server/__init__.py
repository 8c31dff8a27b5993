"""A V3IO web-API server for tests: the real ``v3io`` client talks to it over HTTP on 127.0.0.1."""

from __future__ import annotations

from v3io_server.server import V3ioTestServer
from v3io_server.store import Store

__all__ = ["Store", "V3ioTestServer"]
