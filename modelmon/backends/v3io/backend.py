"""Opening the ``v3io`` backend: one web-API client shared by streams, KV and objects, plus frames for TSDB."""

from __future__ import annotations

import functools
from typing import Any

import v3io.dataplane
import v3io_frames

from modelmon.backends.base import Backend
from modelmon.backends.retry import RetryPolicy
from modelmon.backends.v3io.calls import V3ioCalls
from modelmon.backends.v3io.kv import V3ioKV
from modelmon.backends.v3io.objects import V3ioObjectStore
from modelmon.backends.v3io.samples import V3ioSampleStore
from modelmon.backends.v3io.streams import V3ioStream
from modelmon.backends.v3io.tsdb import READ_DEADLINE_S, FramesTSDB
from modelmon.core.config import ENV_V3IO_ACCESS_KEY, ENV_V3IO_API, ENV_V3IO_FRAMESD, Settings
from modelmon.core.errors import ConfigError
from modelmon.core.paths import ProjectPaths


def _frames_client(address: str, access_key: str, container: str) -> Any:
    return v3io_frames.Client(address=address, container=container, token=access_key)


def open_v3io_backend(settings: Settings, *, retry: RetryPolicy | None = None, max_connections: int = 8,
                      tsdb_read_deadline_s: float = READ_DEADLINE_S) -> Backend:
    """The five roles on the V3IO platform ``settings`` points at."""
    missing = [name for name, value in ((ENV_V3IO_API, settings.v3io_api), (ENV_V3IO_ACCESS_KEY,
               settings.v3io_access_key), (ENV_V3IO_FRAMESD, settings.v3io_framesd)) if not value]
    if missing:
        raise ConfigError(f"the v3io backend needs {', '.join(missing)} (set in the environment)")
    api, key, framesd = str(settings.v3io_api), str(settings.v3io_access_key), str(settings.v3io_framesd)
    client = v3io.dataplane.Client(endpoint=api, access_key=key, max_connections=max_connections)
    calls = V3ioCalls(retry)
    objects = V3ioObjectStore(client, calls)
    streams = _StreamsOwningClient(client, calls)
    return Backend(
        name="v3io",
        streams=streams,
        kv=V3ioKV(client, calls),
        tsdb=FramesTSDB(functools.partial(_frames_client, framesd, key), objects, calls,
                        read_deadline_s=tsdb_read_deadline_s),
        samples=V3ioSampleStore(objects, ProjectPaths(settings.project)),
        objects=objects,
    )


class _StreamsOwningClient(V3ioStream):
    """The stream role also closes the shared web-API client when the backend closes."""

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()
