"""The Stream role on Apache Kafka (kafka-python): ``open_kafka_streams(brokers)``.

Only streams live in Kafka; a deployment composes them with KV, TSDB, samples and objects from another
backend. Topic names come from :func:`kafka_topic` (the names Nuclio's ``kafka-cluster`` triggers read).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modelmon.backends.kafka.clients import KafkaClients
from modelmon.backends.kafka.producing import partition_for_key
from modelmon.backends.kafka.streams import KafkaStreams
from modelmon.backends.kafka.topics import kafka_topic

__all__ = ["KafkaStreams", "kafka_topic", "open_kafka_streams", "partition_for_key"]


def open_kafka_streams(brokers: Sequence[str], *, client_id: str = "modelmon", timeout_s: float = 30.0,
                       **options: Any) -> KafkaStreams:
    """Streams on the Kafka cluster reached through ``brokers`` ("host:port" each).

    Nothing connects until the first call (a broker that is down then raises ``BackendUnavailable``).
    ``timeout_s`` bounds each request and the clients' retries within it. ``options`` are kafka-python
    settings passed to each client that knows them (``security_protocol``, ``sasl_mechanism``,
    ``ssl_cafile``, ...); ``ValueError`` for one no client knows.
    """
    return KafkaStreams(KafkaClients(brokers, client_id, timeout_s, options))
