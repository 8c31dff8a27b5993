"""A Kafka broker for tests: the wire protocol kafka-python speaks, on a local socket, in a thread or a process.

``KafkaTestBroker`` runs one in a thread of the test; ``BrokerProcess`` (``python -m kafka_server --port P
--data DIR``) runs one as its own process.
"""

from __future__ import annotations

from kafka_server.broker import KafkaTestBroker
from kafka_server.clock import FileClock
from kafka_server.process import BrokerProcess

__all__ = ["BrokerProcess", "FileClock", "KafkaTestBroker"]
