"""Both protocol servers started together, and a picklable opener of the ``v3io`` backend pointed at them.

This is what the backend contract suite (``tests/backends/registry.py``) and the fault tests use. The
opener carries only addresses and the access key, so spawned child processes can use it too. Given a
``clock`` in the process that runs the servers, it also drives the web-API server's arrival times.
"""

from __future__ import annotations

import contextlib
import dataclasses
import pathlib
from collections.abc import Callable, Iterator

from frames_server import FramesTestServer

from modelmon.backends.base import Backend
from modelmon.backends.v3io import RetryPolicy, open_v3io_backend
from modelmon.core.config import Settings
from v3io_server.server import V3ioTestServer

ACCESS_KEY = "test-access-key"
#: Quick retries: the servers are local, and fault tests inject many failures.
TEST_RETRY = RetryPolicy(attempts=8, base_s=0.005, cap_s=0.1)
_RUNNING: dict[int, V3ioTestServer] = {}  # web-API port → server, in the process that started it


@dataclasses.dataclass(frozen=True)
class V3ioOpener:
    """``opener(clock=None) -> Backend`` for the servers at these addresses."""

    api: str
    framesd: str
    port: int
    project: str = "p"

    def settings(self) -> Settings:
        return Settings(backend="v3io", project=self.project, v3io_api=self.api, v3io_access_key=ACCESS_KEY,
                        v3io_framesd=self.framesd)

    def __call__(self, clock: Callable[[], int] | None = None) -> Backend:
        server = _RUNNING.get(self.port)
        if clock is not None and server is not None:
            server.store.clock_ns = lambda: clock() * 1_000_000
        return open_v3io_backend(self.settings(), retry=TEST_RETRY)


def open_on(web: V3ioTestServer, frames: FramesTestServer, project: str) -> tuple[Settings, Backend]:
    """The settings of ``project`` on these servers, and the v3io backend opened with them."""
    settings = Settings(backend="v3io", project=project, v3io_api=web.url, v3io_access_key=ACCESS_KEY,
                        v3io_framesd=frames.address)
    return settings, open_v3io_backend(settings, retry=TEST_RETRY)


@contextlib.contextmanager
def running_servers() -> Iterator[tuple[V3ioTestServer, FramesTestServer]]:
    with V3ioTestServer(access_key=ACCESS_KEY) as web, FramesTestServer(access_key=ACCESS_KEY) as frames:
        _RUNNING[web.port] = web
        frames.kv_store = web.store  # framesd reads KV tables from the same platform
        try:
            yield web, frames
        finally:
            _RUNNING.pop(web.port, None)


@contextlib.contextmanager
def v3io_backend(scratch: pathlib.Path | None = None) -> Iterator[V3ioOpener]:
    """The registry factory: fresh servers, and an opener of the v3io backend on them."""
    with running_servers() as (web, frames):
        yield V3ioOpener(api=web.url, framesd=frames.address, port=web.port)


@contextlib.contextmanager
def local_or_v3io(kind: str, home: pathlib.Path) -> Iterator[Backend]:
    """The embedded backend in ``home`` (``kind`` "local") or the v3io one on fresh servers ("v3io"), closed
    afterwards: for tests of one behaviour on both."""
    from modelmon.backends.local import open_local_backend

    with contextlib.ExitStack() as stack:
        opened = open_local_backend(home) if kind == "local" else stack.enter_context(v3io_backend())()
        stack.callback(opened.close)  # before the servers stop
        yield opened
