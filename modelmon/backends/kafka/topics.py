"""Kafka topics standing for modelmon stream paths, and the configuration modelmon creates them with.

A stream path such as ``projects/p1/model-endpoints/stream`` cannot be a topic name ('/' is not allowed),
so each path maps to one topic. The deployed functions' ``kafka-cluster`` triggers (rendered by
``modelmon.deploy.render``) read these names, so this module is the one place that spells them.
"""

from __future__ import annotations

import re

from modelmon.backends.base import MAX_RECORD_BYTES

_NOT_IN_TOPIC = re.compile(r"[^A-Za-z0-9._-]")
#: Kafka refuses longer topic names (``Topic.MAX_NAME_LENGTH``).
MAX_TOPIC_CHARS = 249
HOUR_MS = 3_600_000
#: The largest record batch a topic accepts: one record of :data:`MAX_RECORD_BYTES` with its key and the
#: batch's framing must fit (Kafka's default, 1 MB + 12 bytes, would refuse a record the contract allows).
MAX_MESSAGE_BYTES = MAX_RECORD_BYTES + 64 * 1024


def kafka_topic(stream_path: str) -> str:
    """The Kafka topic standing for a stream path: '/' becomes '.', other characters Kafka refuses too.

    >>> kafka_topic("projects/p1/model-endpoints/stream")
    'projects.p1.model-endpoints.stream'
    >>> kafka_topic("/projects/p1/monitoring-apps/app one/")
    'projects.p1.monitoring-apps.app.one'
    """
    return _NOT_IN_TOPIC.sub(".", stream_path.strip("/").replace("/", "."))


def checked_topic(stream_path: str) -> str:
    """:func:`kafka_topic` of a path Kafka can name; ``ValueError`` otherwise (empty, '.', too long)."""
    if not isinstance(stream_path, str) or not stream_path.strip():
        raise ValueError(f"stream path must be a non-empty string, got {stream_path!r}")
    topic = kafka_topic(stream_path)
    if topic in ("", ".", "..") or len(topic) > MAX_TOPIC_CHARS:
        raise ValueError(f"stream {stream_path!r} maps to Kafka topic {topic!r}, which Kafka refuses "
                         f"(1 to {MAX_TOPIC_CHARS} characters, not '.' or '..')")
    return topic


def topic_configs(retention_hours: int) -> dict[str, str]:
    """What a stream's topic is created with: its retention; the broker's append time as each record's
    timestamp (``Record.arrival_ms`` and seeking by time mean arrival, not the producer's clock); room
    for the largest record the Stream contract allows. Kafka expires whole segments, so a segment spans a
    quarter of the retention: records go at most 25% after their time (the default, 7-day segments, would
    keep a day's stream for a week)."""
    return {
        "retention.ms": str(retention_hours * HOUR_MS),
        "segment.ms": str(retention_hours * HOUR_MS // 4),
        "message.timestamp.type": "LogAppendTime",
        "max.message.bytes": str(MAX_MESSAGE_BYTES),
        "cleanup.policy": "delete",
    }


def retention_hours(retention_ms: int) -> int:
    """Whole hours of a topic's ``retention.ms`` (rounded up: a topic keeps at least that long); a topic
    without a time limit (-1) reports 0."""
    if retention_ms < 0:
        return 0
    return max(1, -(-retention_ms // HOUR_MS))
