"""A Kafka broker for tests: the wire protocol kafka-python speaks, on a local socket, in a thread or a process.

``KafkaTestBroker`` is the entry point; ``python -m kafka_server --port P --data DIR`` runs one as a process.
"""

from __future__ import annotations

from kafka_server.broker import KafkaTestBroker

__all__ = ["KafkaTestBroker"]
