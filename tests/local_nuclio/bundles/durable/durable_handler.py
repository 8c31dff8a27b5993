"""A stream function that keeps its records as modelmon's functions do, through ``HandlerRetry``.

A body may ask for the store to be out: ``unavailable_times`` (attempts failing with BackendUnavailable), or
``out_until_parked`` (every attempt fails until the record comes back as a parked copy). The test hands the
stream backend over in ``STREAMS`` before the host starts (the function runs in the test's process).
"""

from __future__ import annotations

import json
import os
import threading

from modelmon.core.errors import BackendUnavailable
from modelmon.core.paths import ProjectPaths
from modelmon.functions.dead_letters import DeadLetters
from modelmon.functions.handling import Delivery, HandlerRetry, each_record

PATHS = ProjectPaths("test")
STREAMS: list = []
SEEN: list[dict] = []
ATTEMPTS: dict[str, int] = {}
_lock = threading.Lock()


def init_context(context):
    streams = STREAMS[0]
    letters = DeadLetters(streams, PATHS.dead_letter_stream, "durable", source=PATHS.tracking_stream)
    context.user_data.retry = HandlerRetry(streams, PATHS.tracking_stream, letters, logger=context.logger,
                                           deadline_s=float(os.environ.get("DURABLE_DEADLINE_S", "30")),
                                           backoff_s=0.01, max_backoff_s=0.05)


def handler(context, event):
    for record in each_record(event):
        context.user_data.retry.handle(record, _process)


def _process(record: Delivery) -> None:
    body = json.loads(record.body)
    with _lock:
        ATTEMPTS[body["id"]] = attempt = ATTEMPTS.get(body["id"], 0) + 1
    if attempt <= body.get("unavailable_times", 0) or (body.get("out_until_parked") and not record.parked):
        raise BackendUnavailable(f"record {body['id']}: the store is out (attempt {attempt})")
    with _lock:
        SEEN.append({"id": body["id"], "position": record.position, "origin": record.origin})
