"""Writes each record's id to KV exactly once (a conditional put) and counts every delivery.

``{"id": ..., "poison": true}`` always fails. ``CONSUMER_SLEEP_MS`` slows each call down so a test
can kill the process mid-batch. The termination callback records which worker stopped cleanly.
"""

from __future__ import annotations

import json
import os
import time

from modelmon.backends import Cond, make_backend
from modelmon.core.config import Settings


def init_context(context):
    backend = make_backend(Settings.from_env(os.environ))
    context.user_data.kv = backend.kv
    context.user_data.sleep_s = int(os.environ.get("CONSUMER_SLEEP_MS", "0")) / 1000
    table = os.environ["PROCESSED_TABLE"]
    context.user_data.table = table

    def on_termination():
        backend.kv.put(f"{table}-terminated", f"{os.getpid()}-{context.worker_id}", {"worker": context.worker_id})

    context.platform.set_termination_callback(on_termination)


def handler(context, event):
    record = json.loads(event.body)
    data = context.user_data
    data.kv.update(f"{data.table}-deliveries", record["id"], increment={"n": 1})
    if record.get("poison"):
        raise ValueError(f"poison record {record['id']}")
    time.sleep(data.sleep_s)
    data.kv.update(
        data.table, record["id"], {"id": record["id"], "shard": event.shard_id, "offset": event.offset},
        increment={"writes": 1}, condition=[Cond.not_exists("id")],
    )
