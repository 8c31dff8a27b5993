"""A test broker per test, and clients on it that are closed before it stops (no reconnect noise)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka_server import KafkaTestBroker


@pytest.fixture
def broker() -> Iterator[KafkaTestBroker]:
    with KafkaTestBroker() as running:
        yield running


@pytest.fixture
def clients(broker: KafkaTestBroker) -> Iterator[Callable[..., Any]]:
    """``clients(KafkaProducer, **config)``: a client on ``broker``, closed at the end of the test."""
    opened: list[Any] = []

    def make(kind: type[KafkaProducer | KafkaConsumer | KafkaAdminClient], **config: Any) -> Any:
        client = kind(bootstrap_servers=broker.bootstrap, **config)
        opened.append(client)
        return client

    yield make
    for client in reversed(opened):
        client.close()
