"""Nuclio glue of the alerts function: writer events (one record per call, or a list when batching; a record may
pack many, :mod:`modelmon.functions.packing`), and a tick.

Each writer event is evaluated against the alert configs (:class:`~modelmon.alerts.evaluator.Evaluator`);
the notifications of the transitions it causes are enqueued in the delivery outbox before the activation is
stored, then due deliveries are sent within a short budget. The cron tick checks endpoints for missing
traffic and sends whatever is due (retries with backoff). This function has its own consumer group on the
writer stream: a slow or dead receiver delays only it, never the writer. An unreadable writer event is the
writer's to dead-letter (it reads the same record), so it is skipped here. A store outage is waited out and
the record parked (:class:`~modelmon.functions.handling.HandlerRetry`) on the function's own park stream
(``ProjectPaths.alerts_parked_stream``, its second trigger): parked on the writer stream it would be written
again by the writer too. For the same reason a copy the writer parked on the writer stream is skipped here:
this function has read the original. Evaluation is idempotent per window.
"""

from __future__ import annotations

import os
from typing import Any

import nuclio_sdk

from modelmon.alerts.configs import quick_start_config
from modelmon.alerts.delivery import Deliveries
from modelmon.alerts.evaluator import Evaluator
from modelmon.backends import make_backend
from modelmon.core.config import ENV_ALERT_WEBHOOK_URL, Settings
from modelmon.core.errors import InvalidEvent
from modelmon.core.paths import ProjectPaths
from modelmon.core.timeutil import now_ms
from modelmon.endpoints.store import EndpointStore
from modelmon.events.writer import WriterEvent
from modelmon.functions.handling import Delivery, HandlerRetry, each_record, on_shutdown
from modelmon.functions.packing import UnreadablePack, packed_messages

#: The function's name in its function.yaml, which its dead letters carry.
FUNCTION_NAME = "alerts"
#: Seconds a stream call may spend sending due notifications (the tick sends the rest).
STREAM_BUDGET_S = 2.0
#: Seconds a tick may spend sending.
TICK_BUDGET_S = 40.0


def init_context(context: nuclio_sdk.Context) -> None:
    settings = Settings.from_env()
    backend = make_backend(settings)
    paths = ProjectPaths(settings.project)
    extra = [quick_start_config(ENV_ALERT_WEBHOOK_URL)] if os.environ.get(ENV_ALERT_WEBHOOK_URL) else []
    context.user_data.evaluator = Evaluator(backend.kv, paths, extra=extra)
    context.user_data.deliveries = Deliveries(backend.kv, paths, clock=now_ms)
    context.user_data.endpoints = EndpointStore(backend.kv, paths)
    context.user_data.period_ms = settings.base_period_ms
    # the park stream exists before the triggers start: Nuclio's v3ioStream trigger cannot read a missing one
    backend.streams.create(paths.alerts_parked_stream, shards=1)
    context.user_data.retry = HandlerRetry.for_function(settings, backend.streams, paths.writer_stream,
                                                        FUNCTION_NAME, context.logger,
                                                        park_to=paths.alerts_parked_stream)
    on_shutdown(context, backend.close)


def handler(context: nuclio_sdk.Context, event: nuclio_sdk.Event | list[nuclio_sdk.Event]) -> dict[str, Any]:
    evaluator: Evaluator = context.user_data.evaluator
    deliveries: Deliveries = context.user_data.deliveries
    if getattr(getattr(event, "trigger", None), "kind", None) == "cron":
        endpoints = [(e.endpoint_id, e.name, e.last_request_ms)
                     for e in context.user_data.endpoints.scan(brief=True)]
        silent = evaluator.check_traffic(endpoints, context.user_data.period_ms, outbox=deliveries.enqueue)
        sent = deliveries.deliver_due(budget_s=TICK_BUDGET_S)
        return {"notifications": len(silent), "delivered": sent.delivered, "retrying": sent.retrying,
                "failed": sent.failed}
    retry: HandlerRetry = context.user_data.retry
    totals = {"events": 0, "notifications": 0, "skipped": 0}

    def evaluate(record: Delivery) -> tuple[int, int] | None:
        """(events, notifications) of the record's writer event, or of each of its packed events."""
        try:
            packed = packed_messages(record.body)
        except UnreadablePack:
            return None  # the writer dead-letters it
        bodies = [record.body] if packed is None else [p.message for p in packed if isinstance(p.message, dict)]
        events = notifications = 0
        for body in bodies:
            try:
                writer_event = WriterEvent.from_body(body)
            except InvalidEvent:
                continue  # the writer dead-letters it
            events += 1
            notifications += len(evaluator.evaluate(writer_event, outbox=deliveries.enqueue))
        return (events, notifications) if events else None

    for record in each_record(event):
        if record.parked_by not in (None, FUNCTION_NAME):  # another reader's copy: the original was read here
            totals["skipped"] += 1
            continue
        handled = retry.handle(record, evaluate)
        if handled.value is None:
            handled.count_kept(totals, "skipped")
            continue
        totals["events"] += handled.value[0]
        totals["notifications"] += handled.value[1]
    if totals["notifications"]:
        sent = deliveries.deliver_due(budget_s=STREAM_BUDGET_S)
        totals["delivered"] = sent.delivered
    return totals
