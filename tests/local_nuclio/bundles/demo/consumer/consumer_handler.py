"""Records every delivered stream event in memory; a body may ask to fail a number of times
(``fail_times``: a ValueError, ``unavailable_times``: the backend unavailable, before those)."""

from __future__ import annotations

import json
import threading

from modelmon.core.errors import BackendUnavailable

SEEN: list[dict] = []
ATTEMPTS: dict[str, int] = {}
TERMINATED: list[int] = []
_lock = threading.Lock()


def init_context(context):
    context.platform.set_termination_callback(lambda: TERMINATED.append(context.worker_id))


def handler(context, event):
    record = json.loads(event.body)
    with _lock:
        ATTEMPTS[record["id"]] = ATTEMPTS.get(record["id"], 0) + 1
        attempt = ATTEMPTS[record["id"]]
    if attempt <= record.get("unavailable_times", 0):
        raise BackendUnavailable(f"record {record['id']}: backend down on attempt {attempt}")
    if attempt - record.get("unavailable_times", 0) <= record.get("fail_times", 0):
        raise ValueError(f"record {record['id']} failed on attempt {attempt}")
    with _lock:
        SEEN.append({
            "id": record["id"], "shard": event.shard_id, "offset": event.offset, "topic": event.topic,
            "worker": context.worker_id, "body_type": type(event.body).__name__,
            "trigger": (event.trigger.kind, event.trigger.name), "num_shards": event.num_shards,
        })
