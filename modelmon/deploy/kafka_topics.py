"""Kafka in rendered configs: the ``kafka-cluster`` trigger standing for a stream trigger, and creating the topics
the triggers read (``modelmon deploy --create-topics``).

Producers create their topic on first use, but Nuclio's ``kafka-cluster`` trigger creates none: a consumer
deployed before its producer's first record would find no topic. Creating them at deploy time, through the
same Kafka stream role the functions use, gives them modelmon's settings (retention, append time, the
largest record) and leaves an existing topic as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from modelmon.core.errors import ConfigError
from modelmon.core.kafka_security import KafkaSecurity
from modelmon.local_nuclio.stream_source import topic_path

if TYPE_CHECKING:
    from modelmon.deploy.render import RenderedFunction


def kafka_topic(stream_path: str) -> str:
    """The Kafka topic standing for a stream path (Kafka topics cannot hold '/'): the Kafka stream role's own
    mapping (:func:`modelmon.backends.kafka.topics.kafka_topic`), so triggers read the topics producers write.

    >>> kafka_topic("projects/p1/model-endpoints/stream")
    'projects.p1.model-endpoints.stream'
    """
    try:
        from modelmon.backends.kafka.topics import kafka_topic as topic
    except ImportError as exc:  # the package imports kafka-python (the optional extra ``kafka``)
        raise ConfigError(f"Kafka triggers need the Kafka stream role: pip install 'modelmon[kafka]' ({exc})") from exc
    return topic(stream_path)


def to_kafka(trigger: Mapping[str, Any], stream: str, brokers: Sequence[str]) -> dict[str, Any]:
    """The ``kafka-cluster`` trigger reading the topic that stands for ``stream``."""
    attributes = trigger.get("attributes") or {}
    kafka: dict[str, Any] = {
        "kind": "kafka-cluster",
        "attributes": {
            "brokers": list(brokers),
            "topics": [kafka_topic(stream)],
            "consumerGroup": attributes["consumerGroup"],
            "initialOffset": attributes.get("seekTo", "earliest"),
            "sessionTimeout": "10s",
            "heartbeatInterval": "3s",
            "workerAllocationMode": "static",
        },
    }
    for field in ("numWorkers", "maxWorkers"):
        if field in trigger:
            kafka[field] = trigger[field]
    return kafka


def trigger_topics(rendered: Iterable[RenderedFunction]) -> list[str]:
    """Every topic a ``kafka-cluster`` trigger of ``rendered`` reads, sorted, each once."""
    topics: set[str] = set()
    for function in rendered:
        for trigger in (function.config.get("spec", {}).get("triggers") or {}).values():
            if trigger.get("kind") == "kafka-cluster":
                topics.update((trigger.get("attributes") or {}).get("topics") or [])
    return sorted(topics)


def create_topics(topics: Sequence[str], brokers: Sequence[str],
                  security: KafkaSecurity | None = None) -> list[tuple[str, bool]]:
    """Create each topic on ``brokers`` (reached with ``security``: SASL, TLS): ``(topic, created)`` pairs,
    ``created`` false for one that existed."""
    try:
        from modelmon.backends.kafka import open_kafka_streams
    except ImportError as exc:
        raise ConfigError(f"--create-topics needs kafka-python: pip install 'modelmon[kafka]' ({exc})") from exc
    options = security.client_options() if security is not None else {}
    streams = open_kafka_streams(brokers, client_id="modelmon-deploy", **options)
    try:
        return [(topic, streams.create(topic_path(topic))) for topic in topics]
    finally:
        streams.close()
