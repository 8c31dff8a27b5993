"""The Stream role on Kafka: a topic per stream path, a partition per shard, offsets as sequences.

A record's ``sequence`` is its Kafka offset + 1 (the contract numbers a shard's records from 1); its
``arrival_ms`` is the record's timestamp, which is the broker's append time on the topics modelmon
creates (``message.timestamp.type=LogAppendTime``). A consumer group's committed *sequence* "next to
read" is stored through the group coordinator (OffsetCommit) as Kafka's committed *offset*, which is also
"next to read": offset = sequence - 1. So a Nuclio ``kafka-cluster`` trigger with the same consumer group
resumes where modelmon's runtime left off, and the other way round.

Puts follow the contract's V3IO rules (``put_requests``): each request's records are sent and every
answer waited for before the next request; a failure after some records were acknowledged raises
``PutIncomplete`` naming them.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from kafka import OffsetAndMetadata, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, OffsetSpec
from kafka.errors import NoError, TopicAlreadyExistsError, for_code

from modelmon.backends.base import OutRecord, PutIncomplete, Record, SeekTo, StreamInfo, put_requests
from modelmon.backends.kafka.clients import KafkaClients
from modelmon.backends.kafka.failures import KAFKA_FAILURES, is_missing_topic, translate
from modelmon.backends.kafka.producing import route, send_request
from modelmon.backends.kafka.reading import ReadCursor, read_page
from modelmon.backends.kafka.topics import checked_topic, retention_hours, topic_configs
from modelmon.core.errors import NotFound

_UNKNOWN_TOPIC = 3  # Kafka's UNKNOWN_TOPIC_OR_PARTITION


class KafkaStreams:
    """The :class:`~modelmon.backends.base.Stream` role on a Kafka cluster; safe to share between threads."""

    def __init__(self, clients: KafkaClients) -> None:
        self._clients = clients
        self._timeout_s = clients.timeout_ms / 1000
        self._partitions: dict[str, int] = {}  # topic → partition count, learnt once (partitions only grow)
        self._cursor = ReadCursor()  # under the clients' read lock
        self._lock = threading.Lock()

    def create(self, path: str, shards: int = 1, retention_hours: int = 24) -> bool:
        topic = checked_topic(path)
        if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
            raise ValueError(f"stream {path!r}: shards must be a whole number >= 1, got {shards!r}")
        if isinstance(retention_hours, bool) or not isinstance(retention_hours, int) or retention_hours < 1:
            raise ValueError(f"stream {path!r}: retention_hours must be a whole number >= 1, got {retention_hours!r}")
        spec = {"num_partitions": shards, "replication_factor": -1, "configs": topic_configs(retention_hours)}

        def create_topic(admin: Any) -> bool:
            try:
                admin.create_topics({topic: spec}, timeout_ms=self._clients.timeout_ms, wait_for_metadata=True)
            except TopicAlreadyExistsError:
                return False
            return True

        created = self._clients.call_admin(f"create topic {topic}", path, create_topic)
        if created:
            with self._lock:
                self._partitions[topic] = shards
        return created

    def describe(self, path: str) -> StreamInfo:
        topic = checked_topic(path)
        shards = self._partition_count(path, topic, fresh=True)
        resource = ConfigResource(ConfigResourceType.TOPIC, topic, ["retention.ms"])
        configs = self._clients.call_admin(f"describe configs of topic {topic}", path,
                                           lambda admin: admin.describe_configs([resource], config_filter="all"))
        entry = configs.get("topic", {}).get(topic, {}).get("retention.ms") or {}
        value = entry.get("value")
        return StreamInfo(shards=shards, retention_hours=retention_hours(int(value)) if value is not None else 0)

    def put_records(self, path: str, records: Sequence[OutRecord]) -> list[tuple[int, int]]:
        topic = checked_topic(path)
        partitions = self._partition_count(path, topic)
        routes = [route(path, record, i, partitions) for i, record in enumerate(records)]
        requests = put_requests(path, records)
        if not requests:
            return []
        producer = self._clients.producer()
        placed: list[tuple[int, int] | None] = [None] * len(records)
        for request in requests:
            failure = send_request(producer, topic, records, routes, request, placed, self._timeout_s)
            if failure is None:
                continue
            if is_missing_topic(failure):
                self._forget(topic)
            error = translate(failure, f"put records to topic {topic}", path)
            if all(p is None for p in placed):
                raise error from failure
            raise PutIncomplete.after(path, placed, error) from failure
        return [p for p in placed if p is not None]

    def seek(self, path: str, shard: int, to: SeekTo, value: int | None = None) -> int:
        tp = self._partition(path, shard)
        to = SeekTo(to)
        if to is SeekTo.SEQUENCE:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"seek to SEQUENCE needs a sequence number >= 1, got {value!r}")
            return value
        if to is SeekTo.TIME:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"seek to TIME needs an epoch-ms int, got {value!r}")
            # the end is read first: a record appended after the time lookup found none lies at or after it
            end = self._offset(path, tp, OffsetSpec.LATEST)
            found = self._offset(path, tp, max(0, value))  # a negative timestamp is a ListOffsets sentinel
            return (found if found >= 0 else end) + 1
        spec = OffsetSpec.EARLIEST if to is SeekTo.EARLIEST else OffsetSpec.LATEST
        return self._offset(path, tp, spec) + 1

    def read(self, path: str, shard: int, sequence: int, limit: int = 1000) -> list[Record]:
        tp = self._partition(path, shard)
        if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 1:
            raise ValueError(f"read needs a sequence number >= 1, got {sequence!r}")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"read limit must be >= 1, got {limit!r}")
        offset = sequence - 1
        with self._clients.read_lock:
            consumer = self._clients.consumer()
            try:
                end = None
                if self._cursor.partition == tp and self._cursor.offset == offset:
                    end = consumer.highwater(tp)  # known from the last fetch: no round trip
                if end is None or offset >= end:
                    end = self._offset(path, tp, OffsetSpec.LATEST)
                    # Below the log start with every record expired, a fetch would find nothing to return
                    # and wait out the timeout: nothing is there to read, say so at once.
                    if offset < end and self._offset(path, tp, OffsetSpec.EARLIEST) >= end:
                        return []
                if offset >= end:
                    return []
                return read_page(consumer, self._cursor, tp, offset, end, limit, self._timeout_s)
            except KAFKA_FAILURES as exc:
                self._cursor = ReadCursor()  # the consumer's position is unknown now: seek next time
                raise translate(exc, f"read {tp.topic} partition {shard}", path) from exc

    def commit(self, path: str, group: str, shard: int, sequence: int) -> None:
        tp = self._partition(path, shard)
        _check_group(group)
        if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 1:
            raise ValueError(f"committed sequence must be >= 1, got {sequence!r}")
        what = f"commit group {group!r} on {tp.topic} partition {shard}"
        offsets = {tp: OffsetAndMetadata(sequence - 1, "", -1)}

        def commit(admin: Any) -> None:
            error = admin.alter_group_offsets(group, offsets).get(tp, NoError)
            if error is not NoError:
                raise error(what)  # a coordinator moving or loading is retried by call_admin

        self._clients.call_admin(what, path, commit)

    def committed(self, path: str, group: str, shard: int) -> int | None:
        tp = self._partition(path, shard)
        _check_group(group)
        groups = self._clients.call_admin(f"committed offset of group {group!r} on {tp.topic} partition {shard}",
                                          path, lambda admin: admin.list_group_offsets({group: [tp]}))
        found = groups.get(group, {}).get(tp)
        if found is None or found.offset is None or found.offset < 0:
            return None
        return int(found.offset) + 1

    def close(self) -> None:
        self._clients.close()

    # ---------------------------------------------------------------------------------- internals
    def _partition(self, path: str, shard: int) -> TopicPartition:
        """The topic-partition of ``path``'s ``shard``: ``NotFound`` without the topic, ``ValueError`` for a
        shard it does not have."""
        topic = checked_topic(path)
        partitions = self._partition_count(path, topic)
        if isinstance(shard, bool) or not isinstance(shard, int) or not 0 <= shard < partitions:
            raise ValueError(f"stream {path!r} has shards 0..{partitions - 1}, got shard {shard!r}")
        return TopicPartition(topic, shard)

    def _partition_count(self, path: str, topic: str, *, fresh: bool = False) -> int:
        if not fresh:
            with self._lock:
                known = self._partitions.get(topic)
            if known is not None:
                return known
        (described,) = self._clients.call_admin(f"describe topic {topic}", path,
                                                lambda admin: admin.describe_topics([topic]))
        error = int(described.get("error_code") or 0)
        if error == _UNKNOWN_TOPIC:
            self._forget(topic)
            raise NotFound(f"stream {path!r} does not exist (no Kafka topic {topic!r})")
        if error:
            refused = for_code(error)(f"describe topic {topic}")
            raise translate(refused, f"describe topic {topic}", path) from refused
        count = len(described.get("partitions") or ())
        with self._lock:
            self._partitions[topic] = count
        return count

    def _offset(self, path: str, tp: TopicPartition, spec: int) -> int:
        """ListOffsets for ``tp``: an :class:`OffsetSpec` or the first offset at or after a timestamp (-1: none)."""
        try:
            found = self._clients.call_admin(
                f"list offsets of {tp.topic} partition {tp.partition}", path,
                lambda admin: admin.list_partition_offsets({tp: spec}, timeout_ms=self._clients.timeout_ms))
        except NotFound:
            self._forget(tp.topic)
            raise
        offset = found[tp].offset
        return -1 if offset is None else int(offset)

    def _forget(self, topic: str) -> None:
        with self._lock:
            self._partitions.pop(topic, None)


def _check_group(group: str) -> None:
    if not isinstance(group, str) or not group:
        raise ValueError(f"consumer group must be a non-empty string, got {group!r}")
