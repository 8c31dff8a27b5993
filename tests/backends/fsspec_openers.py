"""Backends for the sample and object contract tests with those two roles on the fsspec stores.

Streams, KV and TSDB are the local backend's (the fsspec stores hold only samples and objects); samples and
objects are :func:`~modelmon.backends.fsspec_store.open_fsspec_stores` on a ``file://`` folder, or on
``s3://`` through s3fs against moto's S3 server. Openers are picklable partials, as the registry requires.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import pathlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from moto_s3 import shared_moto

from modelmon.backends.base import Backend
from modelmon.backends.fsspec_store import open_fsspec_stores
from modelmon.backends.local import open_local_backend

Opener = Callable[..., Backend]


def open_with_fsspec_stores(home: str, url: str, storage_options: Mapping[str, Any] | None = None,
                            clock: Callable[[], int] | None = None) -> Backend:
    """The local backend in ``home`` with its samples and objects on the fsspec stores at ``url``."""
    samples, objects = open_fsspec_stores(url, storage_options)
    return dataclasses.replace(open_local_backend(home, clock=clock), name=f"local+{url.split(':', 1)[0]}",
                               samples=samples, objects=objects)


@contextlib.contextmanager
def fsspec_file_backend(scratch: pathlib.Path) -> Iterator[Opener]:
    """Samples and objects in a folder through fsspec's local file system (temp file + rename)."""
    yield functools.partial(open_with_fsspec_stores, str(scratch / "modelmon-home"),
                            (scratch / "fsspec-root").as_uri())


@contextlib.contextmanager
def fsspec_s3_backend(scratch: pathlib.Path) -> Iterator[Opener]:
    """Samples and objects in a fresh bucket of this process's moto S3 server, under a prefix."""
    server = shared_moto()
    yield functools.partial(open_with_fsspec_stores, str(scratch / "modelmon-home"),
                            f"s3://{server.new_bucket()}/mm", server.options())


STORE_BACKENDS: dict[str, Callable[[pathlib.Path], contextlib.AbstractContextManager[Opener]]] = {
    "fsspec-file": fsspec_file_backend,
    "fsspec-s3": fsspec_s3_backend,  # s3fs speaking S3 HTTP to moto's server on 127.0.0.1
}
