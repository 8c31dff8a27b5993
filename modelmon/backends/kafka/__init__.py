"""The Stream role on Apache Kafka (kafka-python): ``open_kafka_streams(brokers)``.

Only streams live in Kafka; a deployment composes them with KV, TSDB, samples and objects from another
backend. Topic names come from :func:`kafka_topic` (the names Nuclio's ``kafka-cluster`` triggers read).
kafka-python is an optional extra, so importing this package (for ``kafka_topic``, as ``modelmon deploy``
renders triggers on a machine without it) does not import the client: the names that need it load on use.
"""

from __future__ import annotations

import typing

from modelmon.backends.kafka.opener import open_kafka_streams
from modelmon.backends.kafka.topics import kafka_topic

if typing.TYPE_CHECKING:
    from modelmon.backends.kafka.producing import partition_for_key
    from modelmon.backends.kafka.streams import KafkaStreams

__all__ = ["KafkaStreams", "kafka_topic", "open_kafka_streams", "partition_for_key"]

_LAZY = {"KafkaStreams": "modelmon.backends.kafka.streams", "partition_for_key": "modelmon.backends.kafka.producing"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """The lazily loaded names too (PEP 562)."""
    return sorted({*globals(), *_LAZY})
