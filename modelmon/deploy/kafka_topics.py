"""Creating the Kafka topics a rendered bundle's ``kafka-cluster`` triggers read (``modelmon deploy --create-topics``).

Producers create their topic on first use, but Nuclio's ``kafka-cluster`` trigger creates none: a consumer
deployed before its producer's first record would find no topic. Creating them at deploy time, through the
same Kafka stream role the functions use, gives them modelmon's settings (retention, append time, the
largest record) and leaves an existing topic as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from modelmon.core.errors import ConfigError
from modelmon.deploy.render import RenderedFunction
from modelmon.local_nuclio.stream_source import topic_path


def trigger_topics(rendered: Iterable[RenderedFunction]) -> list[str]:
    """Every topic a ``kafka-cluster`` trigger of ``rendered`` reads, sorted, each once."""
    topics: set[str] = set()
    for function in rendered:
        for trigger in (function.config.get("spec", {}).get("triggers") or {}).values():
            if trigger.get("kind") == "kafka-cluster":
                topics.update((trigger.get("attributes") or {}).get("topics") or [])
    return sorted(topics)


def create_topics(topics: Sequence[str], brokers: Sequence[str]) -> list[tuple[str, bool]]:
    """Create each topic on ``brokers``: ``(topic, created)`` pairs, ``created`` false for one that existed."""
    try:
        from modelmon.backends.kafka import open_kafka_streams
    except ImportError as exc:
        raise ConfigError(f"--create-topics needs kafka-python: pip install 'modelmon[kafka]' ({exc})") from exc
    streams = open_kafka_streams(brokers, client_id="modelmon-deploy")
    try:
        return [(topic, streams.create(topic_path(topic))) for topic in topics]
    finally:
        streams.close()
