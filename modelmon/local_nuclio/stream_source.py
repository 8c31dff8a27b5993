"""Where a ``v3ioStream`` or ``kafka-cluster`` trigger reads from, on the configured backend.

A v3ioStream trigger names ``attributes.containerName`` + ``attributes.streamPath`` (or a ``url``
such as ``v3io:///projects/p/model-endpoints/stream``); the backend path is
``"{container}/{streamPath}"``, the same string :class:`~modelmon.core.paths.ProjectPaths` produces.
A kafka-cluster trigger's topics map one-to-one onto backend stream paths: a project's topic
(``projects.<p>.model-endpoints.<stream>``, what rendering names for ``projects/<p>/model-endpoints/<stream>``)
reads that path, any other topic the stream of the same name. So the trigger reads what the producers write
whatever the stream role is: the local backend stores the path; the Kafka role maps the path back to the same
topic (:func:`modelmon.backends.kafka.topics.kafka_topic`).
"""

from __future__ import annotations

import dataclasses
import re
from urllib.parse import urlparse

from modelmon.backends.base import SeekTo
from modelmon.core.errors import ConfigError
from modelmon.local_nuclio.trigger_spec import KAFKA, V3IO_STREAM, TriggerSpec

DEFAULT_POLL_MS = 50
DEFAULT_READ_BATCH = 64
#: The topic of a project's stream: project names hold no '.', a stream name under model-endpoints no '/'.
_PROJECT_TOPIC = re.compile(r"projects\.(?P<project>[A-Za-z0-9_-]+)\.model-endpoints\.(?P<stream>[^/]+)")


@dataclasses.dataclass(frozen=True)
class StreamSource:
    """The streams, consumer group and start position of one stream trigger."""

    paths: tuple[str, ...]  # backend stream paths; also what ``event.topic`` carries
    group: str
    seek: SeekTo  # EARLIEST or LATEST: where a group without a committed offset starts
    shards: int  # shard count used when a stream has to be created
    poll_ms: int
    read_batch: int


def stream_source(trigger: TriggerSpec) -> StreamSource:
    """Resolve ``trigger``'s attributes; a :class:`ConfigError` names the file, trigger and attribute."""
    attrs = trigger.attributes
    paths: tuple[str, ...]
    if trigger.kind == V3IO_STREAM:
        paths = (_v3io_path(trigger),)
        seek = _seek(trigger, "seekTo", attrs.get("seekTo", "latest"))
        shards = _positive(trigger, "shards", attrs.get("shards", 1))
    elif trigger.kind == KAFKA:
        topics = attrs.get("topics")
        if isinstance(topics, str):
            topics = [topics]
        if not isinstance(topics, list) or not topics or not all(isinstance(t, str) and t for t in topics):
            raise ConfigError(f"{trigger.where()}: attributes.topics must be a non-empty list of topic names")
        paths = tuple(topic_path(t) for t in topics)
        seek = _seek(trigger, "initialOffset", attrs.get("initialOffset", "earliest"))
        shards = _positive(trigger, "partitions", attrs.get("partitions", 1))
    else:
        raise ConfigError(f"{trigger.where()}: kind {trigger.kind!r} is not a stream trigger")
    group = attrs.get("consumerGroup") or f"{trigger.function}-{trigger.name}"
    if not isinstance(group, str):
        raise ConfigError(f"{trigger.where()}: attributes.consumerGroup must be text")
    return StreamSource(
        paths=paths,
        group=group,
        seek=seek,
        shards=shards,
        poll_ms=_positive(trigger, "pollingIntervalMs", attrs.get("pollingIntervalMs", DEFAULT_POLL_MS)),
        read_batch=_positive(trigger, "readBatchSize", attrs.get("readBatchSize", DEFAULT_READ_BATCH)),
    )


def topic_path(topic: str) -> str:
    """The backend stream path a Kafka topic stands for.

    >>> topic_path("projects.fraud.model-endpoints.stream-my.app"), topic_path("orders")
    ('projects/fraud/model-endpoints/stream-my.app', 'orders')
    """
    match = _PROJECT_TOPIC.fullmatch(topic.strip("/"))
    if match is None:
        return topic.strip("/")
    return f"projects/{match['project']}/model-endpoints/{match['stream']}"


def _v3io_path(trigger: TriggerSpec) -> str:
    attrs = trigger.attributes
    container, stream_path = attrs.get("containerName"), attrs.get("streamPath")
    if container and stream_path:
        if not isinstance(container, str) or not isinstance(stream_path, str):
            raise ConfigError(f"{trigger.where()}: containerName and streamPath must be text")
        return f"{container.strip('/')}/{stream_path.strip('/')}"
    if trigger.url:
        parsed = urlparse(trigger.url)
        # http://v3io-webapi:8081/<container>/<path>: the host is the web API, not part of the path;
        # v3io://<container>/<path> and v3io:///<container>/<path>: the host (if any) is the container
        host = parsed.netloc if parsed.scheme == "v3io" else ""
        path = f"{host}/{parsed.path.strip('/')}".strip("/").split("@")[0]
        if stream_path and isinstance(stream_path, str):
            path = f"{path}/{stream_path.strip('/')}"
        if path:
            return path
    raise ConfigError(f"{trigger.where()}: needs attributes.containerName and attributes.streamPath (or a url)")


def _seek(trigger: TriggerSpec, attr: str, value: object) -> SeekTo:
    text = str(value).lower()
    if text not in ("earliest", "latest"):
        raise ConfigError(f"{trigger.where()}: attributes.{attr} {value!r} must be 'earliest' or 'latest'")
    return SeekTo.EARLIEST if text == "earliest" else SeekTo.LATEST


def _positive(trigger: TriggerSpec, attr: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{trigger.where()}: attributes.{attr} {value!r} must be a whole number >= 1")
    return value


def for_project(source: StreamSource, written_for: str | None, project: str) -> StreamSource:
    """``source`` with ``projects/<written_for>/...`` paths moved to ``projects/<project>/...``.

    A bundle's function.yaml names its streams for the project it deploys to (its ``MODELMON_PROJECT``);
    the local runtime runs it for its own project, whose streams live under ``projects/<project>/``.
    """
    if not written_for or written_for == project:
        return source
    old, new = f"projects/{written_for}/", f"projects/{project}/"
    paths = tuple(new + p[len(old):] if p.startswith(old) else p for p in source.paths)
    return dataclasses.replace(source, paths=paths)
