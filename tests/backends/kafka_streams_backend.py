"""The ``kafka`` parameter of the stream contract: Kafka streams (``open_kafka_streams``) against the
in-repo protocol broker (``tests/kafka_server``), composed with the local backend's KV, TSDB, samples and
objects, which the stream tests do not use.

Like the other openers it carries only addresses (the broker's bootstrap and port, a home folder), so child
processes of the multi-process tests can open it too. A ``clock`` given in the process that runs the broker
becomes the broker's clock as well: on Kafka a record's arrival time is the broker's append time and
retention runs on the broker's clock, so the test's clock must drive the broker, not the client. The broker
keeps Kafka's defaults (no broker-wide configs): segments of 1 GiB or 7 days, a retention pass every 5
minutes of its clock.
"""

from __future__ import annotations

import contextlib
import dataclasses
import pathlib
from collections.abc import Callable, Iterator

from kafka_server import KafkaTestBroker

from modelmon.backends.base import Backend
from modelmon.backends.kafka import open_kafka_streams
from modelmon.backends.local import open_local_backend

#: Short request timeouts: the broker is local, and an outage should surface within a test's patience.
TEST_TIMEOUT_S = 10.0
#: Kafka's ``log.retention.check.interval.ms``.
KAFKA_RETENTION_CHECK_MS = 300_000
_RUNNING: dict[int, KafkaTestBroker] = {}  # port → broker, in the process that started it


@dataclasses.dataclass(frozen=True)
class KafkaOpener:
    """``opener(clock=None) -> Backend``: streams on the broker at ``bootstrap``, the rest local in ``home``."""

    bootstrap: str
    home: str
    port: int

    def __call__(self, clock: Callable[[], int] | None = None) -> Backend:
        broker = _RUNNING.get(self.port)
        if clock is not None and broker is not None:
            broker.clock = clock
        local = open_local_backend(self.home, clock=clock)
        return dataclasses.replace(local, name="kafka",
                                   streams=open_kafka_streams([self.bootstrap], timeout_s=TEST_TIMEOUT_S))


@contextlib.contextmanager
def kafka_backend(scratch: pathlib.Path) -> Iterator[KafkaOpener]:
    """A fresh broker, and an opener of Kafka streams on it (with a local home under ``scratch``)."""
    with KafkaTestBroker(retention_check_ms=KAFKA_RETENTION_CHECK_MS, broker_configs={}) as broker:
        _RUNNING[broker.port] = broker
        try:
            yield KafkaOpener(bootstrap=broker.bootstrap, home=str(scratch / "modelmon-home"), port=broker.port)
        finally:
            _RUNNING.pop(broker.port, None)
