"""Opening the fsspec sample and object stores under one root URL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelmon.backends.base import ObjectStore, SampleStore
from modelmon.backends.fsspec_store.calls import FsCalls
from modelmon.backends.fsspec_store.folder import Folder
from modelmon.backends.fsspec_store.location import open_location
from modelmon.backends.fsspec_store.objects import OBJECTS_FOLDER, FsspecObjectStore
from modelmon.backends.fsspec_store.samples import SAMPLES_FOLDER, FsspecSampleStore
from modelmon.backends.retry import RetryPolicy


def open_fsspec_stores(url: str, storage_options: Mapping[str, Any] | None = None, *,
                       retry: RetryPolicy | None = None) -> tuple[SampleStore, ObjectStore]:
    """The sample store and object store under ``url`` (``file:///data/mm``, ``s3://bucket/prefix``).

    Opening makes no request: a store that is down or misconfigured fails its first call, with the error
    that call gets. ``retry`` bounds the retries of transient failures (default: 5 tries within ~2 s).
    """
    location = open_location(url, storage_options)
    calls = FsCalls(location.where, retry)
    samples = FsspecSampleStore(Folder(location, SAMPLES_FOLDER, calls))
    objects = FsspecObjectStore(Folder(location, OBJECTS_FOLDER, calls))
    return samples, objects
