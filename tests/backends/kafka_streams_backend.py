"""The ``kafka`` parameter of the stream contract: Kafka streams (``open_kafka_streams``) against the
in-repo protocol broker (``tests/kafka_server``), composed with the local backend's KV, TSDB, samples and
objects, which the stream tests do not use.

Like the other openers it carries only addresses (the broker's bootstrap and a home folder), so child
processes of the multi-process tests can open it too. A ``clock`` drives the local roles only: a record's
arrival time is the broker's append time, on the broker's clock, as on Kafka.
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


@dataclasses.dataclass(frozen=True)
class KafkaOpener:
    """``opener(clock=None) -> Backend``: streams on the broker at ``bootstrap``, the rest local in ``home``."""

    bootstrap: str
    home: str

    def __call__(self, clock: Callable[[], int] | None = None) -> Backend:
        local = open_local_backend(self.home, clock=clock)
        return dataclasses.replace(local, name="kafka",
                                   streams=open_kafka_streams([self.bootstrap], timeout_s=TEST_TIMEOUT_S))


@contextlib.contextmanager
def kafka_backend(scratch: pathlib.Path) -> Iterator[KafkaOpener]:
    """A fresh broker, and an opener of Kafka streams on it (with a local home under ``scratch``)."""
    with KafkaTestBroker() as broker:
        yield KafkaOpener(bootstrap=broker.bootstrap, home=str(scratch / "modelmon-home"))
