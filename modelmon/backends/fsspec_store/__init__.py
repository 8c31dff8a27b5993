"""Samples and objects on any fsspec file system: a local folder, S3 through ``s3fs`` (or MinIO), memory.

``open_fsspec_stores("s3://bucket/prefix")`` returns the ``SampleStore`` and ``ObjectStore`` roles kept
under that root, in the local backend's layout::

    <root>/samples/<endpoint_id>/hour=<YYYYMMDDHH>/<batch>.parquet
    <root>/objects/<path>

Every write is whole for readers (an S3 PUT; elsewhere a hidden temp file moved into place), listings are
prefix listings, and errors are :mod:`modelmon.core.errors` types: ``NotFound`` (a missing object, or a
missing bucket, named), ``BackendUnavailable`` (unreachable or throttling after bounded retries),
``CorruptStore`` (an unreadable sample file), ``BackendError`` (refused credentials, with what to check).

S3 credentials come from ``storage_options`` (``key``, ``secret``, ``token``, ``profile``) or the usual
environment (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_PROFILE``);
``endpoint_url`` (option, or ``AWS_ENDPOINT_URL``) points at an S3-compatible store such as MinIO.
"""

from __future__ import annotations

from modelmon.backends.fsspec_store.objects import FsspecObjectStore
from modelmon.backends.fsspec_store.opener import open_fsspec_stores
from modelmon.backends.fsspec_store.samples import FsspecSampleStore
from modelmon.backends.retry import RetryPolicy

__all__ = ["FsspecObjectStore", "FsspecSampleStore", "RetryPolicy", "open_fsspec_stores"]
