"""Seeking a V3IO shard takes several web-API requests; a record appended between them must not be skipped.

``SeekTo.EARLIEST`` and ``SeekTo.TIME`` seek, read the first record there, and answer the shard's end when
there is none. A record another client appends after that read was answered and before the end is looked up
would lie before the position returned: a consumer group starting there (the stream trigger's first start,
``seekTo: earliest``) would never read it. The server's :meth:`~v3io_server.server.V3ioTestServer.after_next`
appends it exactly there.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from v3io_server import stream_functions
from v3io_server.store import Store

from modelmon.backends.base import OutRecord, SeekTo
from modelmon.core.timeutil import now_ms

STREAM = "projects/p/model-endpoints/stream"


def _append(data: bytes) -> Callable[[Store], None]:
    """An action for the server: append one record to shard 0 of :data:`STREAM`, as another client would."""
    def action(store: Store) -> None:
        body = {"Records": [{"Data": base64.b64encode(data).decode(), "ShardId": 0}]}
        stream_functions.put_records(store, STREAM, body)
    return action


@pytest.mark.parametrize("earlier", [0, 2])
def test_a_record_appended_while_seeking_earliest_is_read_from_the_position_returned(servers, backend, earlier):
    web, _ = servers
    backend.streams.create(STREAM, shards=1, retention_hours=1)
    if earlier:  # records put before, then expired: EARLIEST finds none either
        backend.streams.put_records(STREAM, [OutRecord(b"old", shard=0)] * earlier)
        web.store.clock_ns = lambda: (now_ms() + 2 * 3_600_000) * 1_000_000
    web.after_next("GetRecords", _append(b"late"))
    position = backend.streams.seek(STREAM, 0, SeekTo.EARLIEST)
    assert [r.data for r in backend.streams.read(STREAM, 0, position)] == [b"late"]
    assert position == earlier + 1


def test_a_record_appended_while_seeking_a_time_is_read_from_the_position_returned(servers, backend):
    web, _ = servers
    backend.streams.create(STREAM, shards=1)
    backend.streams.put_records(STREAM, [OutRecord(b"before", shard=0)])
    web.after_next("GetRecords", _append(b"late"))
    position = backend.streams.seek(STREAM, 0, SeekTo.TIME, now_ms() + 60_000)  # no record at or after it yet
    assert [r.data for r in backend.streams.read(STREAM, 0, position)] == [b"late"]


def test_a_record_appended_while_reading_past_the_end_is_read(servers, backend):
    """``read`` at the shard's end: the seek finds no such sequence, the record arrives, the end is looked up
    (now at the record): the record is read, not skipped."""
    web, _ = servers
    backend.streams.create(STREAM, shards=1)
    backend.streams.put_records(STREAM, [OutRecord(b"first", shard=0)])
    web.after_next("SeekShard", _append(b"late"))
    assert [(r.sequence, r.data) for r in backend.streams.read(STREAM, 0, 2)] == [(2, b"late")]
