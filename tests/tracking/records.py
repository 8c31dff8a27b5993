"""Reading back what the tracking client put on a stream."""

from __future__ import annotations

import json

from modelmon.events import parse_tracking
from modelmon.testing import stream_records


def read_bodies(streams, path):
    """Every record body on ``path`` (all shards), decoded."""
    return [(r.partition_key, json.loads(r.data)) for r in stream_records(streams, path)]


def read_events(streams, path, project):
    return [parse_tracking(body, project) for _, body in read_bodies(streams, path)]
