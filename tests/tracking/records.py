"""Reading back what the tracking client put on a stream."""

from __future__ import annotations

import json

from modelmon.backends.base import SeekTo
from modelmon.events import parse_tracking


def read_bodies(streams, path):
    """Every record body on ``path`` (all shards), decoded."""
    bodies = []
    for shard in range(streams.describe(path).shards):
        start = streams.seek(path, shard, SeekTo.EARLIEST)
        bodies += [(r.partition_key, json.loads(r.data)) for r in streams.read(path, shard, start, limit=100_000)]
    return bodies


def read_events(streams, path, project):
    return [parse_tracking(body, project) for _, body in read_bodies(streams, path)]
