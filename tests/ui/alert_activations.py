"""Alert activations made as the alerts function makes them: configs stored through the SDK's store, writer
events evaluated by the real :class:`~modelmon.alerts.evaluator.Evaluator` with the real outbox, and the
outbox delivered. Each event is evaluated a minute after its window closed (the evaluator's clock), as the
alerts function would, so transitions have distinct, predictable times."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from modelmon.alerts.configs import AlertConfig, AlertConfigStore
from modelmon.alerts.delivery import Backoff, Deliveries
from modelmon.alerts.evaluator import Evaluator
from modelmon.backends.base import Backend, SeekTo
from modelmon.core.paths import ProjectPaths
from modelmon.events import WriterEvent
from modelmon.functions.packing import record_messages

#: How long after its window closes an event is evaluated.
DELAY_MS = 60_000


class Alerting:
    """The alerts function's two halves over ``backend``, on a clock the caller moves."""

    def __init__(self, backend: Backend, paths: ProjectPaths, configs: Iterable[Mapping[str, Any]],
                 now_ms: int = 0, max_attempts: int = 1) -> None:
        self.now = now_ms
        store = AlertConfigStore(backend.kv, paths)
        for config in configs:
            store.store(AlertConfig.from_dict(config))
        self.evaluator = Evaluator(backend.kv, paths, refresh_s=0, clock=lambda: self.now)
        self.deliveries = Deliveries(backend.kv, paths, clock=lambda: self.now,
                                     backoff=Backoff(max_attempts=max_attempts))

    def evaluate(self, events: Iterable[WriterEvent]) -> int:
        """Evaluate ``events`` in order, each :data:`DELAY_MS` after its window; how many notifications."""
        count = 0
        for event in events:
            self.now = event.end_ms + DELAY_MS
            count += len(self.evaluator.evaluate(event, outbox=self.deliveries.enqueue))
        return count

    def deliver(self) -> None:
        self.deliveries.deliver_due(budget_s=30)


def writer_stream_events(backend: Backend, paths: ProjectPaths) -> list[WriterEvent]:
    """Every event still in the writer stream of ``paths``' project, by window end (what the alerts function
    reads on its own consumer group)."""
    stream = paths.writer_stream
    events = []
    for shard in range(backend.streams.describe(stream).shards):
        sequence = backend.streams.seek(stream, shard, SeekTo.EARLIEST)
        while records := backend.streams.read(stream, shard, sequence):
            events += [WriterEvent.from_body(m) for r in records for m in record_messages(r.data)]
            sequence = records[-1].sequence + 1
    return sorted(events, key=lambda e: (e.end_ms, e.endpoint_id, e.app_name))
