"""Storage backends: the role interfaces and the factory that picks an implementation."""

from __future__ import annotations

from modelmon.backends.base import (
    KV,
    TSDB,
    Backend,
    Cond,
    ObjectStore,
    Op,
    OutRecord,
    Record,
    SampleStore,
    SeekTo,
    Stream,
    StreamInfo,
    scan_all,
)
from modelmon.backends.factory import make_backend

__all__ = [
    "KV",
    "TSDB",
    "Backend",
    "Cond",
    "ObjectStore",
    "Op",
    "OutRecord",
    "Record",
    "SampleStore",
    "SeekTo",
    "Stream",
    "StreamInfo",
    "make_backend",
    "scan_all",
]
