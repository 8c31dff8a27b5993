"""The backends the contract suite runs against: name → context-manager factory.

A factory takes a scratch directory and yields an **opener**: a picklable callable
``opener(clock=None) -> Backend`` that connects to the one backend instance under test. Tests call it
more than once (to reopen after a restart) and child processes call it too (the multi-process tests
pickle it), so it must carry only an address — a home directory, a server URL — never a live client.
``clock`` (epoch-ms callable) drives stream arrival times and retention; ``None`` means wall time.

To add a backend (e.g. V3IO against the in-repo protocol test server), write a factory that starts
what it needs, yields an opener, and cleans up afterwards; then add it to ``BACKENDS``.
"""

from __future__ import annotations

import contextlib
import functools
import pathlib
from collections.abc import Callable, Iterator

from postgres_server import shared_server
from v3io_server.stack import v3io_backend

from modelmon.backends.base import Backend
from modelmon.backends.local import open_local_backend
from modelmon.backends.postgres import open_postgres_backend

Opener = Callable[..., Backend]
BackendFactory = Callable[[pathlib.Path], contextlib.AbstractContextManager[Opener]]


@contextlib.contextmanager
def local_backend(scratch: pathlib.Path) -> Iterator[Opener]:
    """The embedded backend in a fresh home under ``scratch``."""
    yield functools.partial(open_local_backend, str(scratch / "modelmon-home"))


@contextlib.contextmanager
def postgres_backend(scratch: pathlib.Path) -> Iterator[Opener]:
    """KV and TSDB in a fresh schema of this process's throwaway PostgreSQL server (``postgres_server``);
    streams, samples and objects in a fresh home under ``scratch``."""
    with shared_server().schema() as dsn:
        yield functools.partial(open_postgres_backend, dsn, str(scratch / "modelmon-home"))


BACKENDS: dict[str, BackendFactory] = {
    "local": local_backend,
    "postgres": postgres_backend,  # a real PostgreSQL 15 started by the tests (Debian's package)
    "v3io": v3io_backend,  # the real v3io / v3io_frames clients against the in-repo protocol servers
}
