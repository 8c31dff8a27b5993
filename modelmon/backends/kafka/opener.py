"""Opening the Kafka stream role, without importing kafka-python until it is opened."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelmon.backends.kafka.streams import KafkaStreams


def open_kafka_streams(brokers: Sequence[str], *, client_id: str = "modelmon", timeout_s: float = 30.0,
                       **options: Any) -> KafkaStreams:
    """Streams on the Kafka cluster reached through ``brokers`` ("host:port" each).

    Nothing connects until the first call (a broker that is down then raises ``BackendUnavailable``).
    ``timeout_s`` bounds each request and the clients' retries within it. ``options`` are kafka-python
    settings passed to each client that knows them (``security_protocol``, ``sasl_mechanism``,
    ``ssl_cafile``, ...); ``ValueError`` for one no client knows.
    """
    from modelmon.backends.kafka.clients import KafkaClients
    from modelmon.backends.kafka.streams import KafkaStreams

    return KafkaStreams(KafkaClients(brokers, client_id, timeout_s, options))
