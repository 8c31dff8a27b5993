"""The write path: Metadata v12, Produce v9, InitProducerId v4.

Each handler reads its request from a :class:`Reader` and writes the response body to a :class:`Writer`, in
the field order of the one version this broker serves (see ``apis.SERVED``). The broker is the only node,
the leader of every partition at leader epoch 0, and its own controller.
"""

from __future__ import annotations

import uuid

from kafka_server import errors, records
from kafka_server.context import CLUSTER_ID, Context
from kafka_server.log import LEADER_EPOCH
from kafka_server.protocol import NULL_UUID, Reader, Writer
from kafka_server.records import InvalidBatch
from kafka_server.store import topic_name_error


# ---------------------------------------------------------------------------------- Metadata v12
def metadata(ctx: Context, r: Reader, w: Writer) -> None:
    def topic_ref() -> tuple[uuid.UUID, str | None]:
        ref = (r.uuid(), r.nullable_string())
        r.tags()
        return ref

    wanted = r.nullable_array(topic_ref)
    allow_auto_create = r.bool()
    r.bool()  # include_topic_authorized_operations
    r.tags()

    store = ctx.store
    rows: list[tuple[int, str | None, uuid.UUID, int]] = []  # error, name, id, partitions
    with store.lock:
        if wanted is None:
            rows = [(0, t.name, t.id, len(t.partitions)) for t in store.topics.values()]
        for topic_id, name in wanted or []:
            if name is None:
                found = store.topic_by_id(topic_id)
                if found is None:
                    rows.append((errors.UNKNOWN_TOPIC_ID, None, topic_id, 0))
                else:
                    rows.append((0, found.name, found.id, len(found.partitions)))
                continue
            known = store.topics.get(name)
            if known is not None:
                rows.append((0, name, known.id, len(known.partitions)))
            elif topic_name_error(name):
                rows.append((errors.INVALID_TOPIC_EXCEPTION, name, NULL_UUID, 0))
            elif allow_auto_create and ctx.auto_create_topics:
                created = store.create_topic(name, store.default_partitions, {})
                # as Kafka: the topic exists from now on, its leader is announced on the next request
                rows.append((errors.LEADER_NOT_AVAILABLE, name, created.id, 0))
            else:
                rows.append((errors.UNKNOWN_TOPIC_OR_PARTITION, name, NULL_UUID, 0))

    w.int32(0)

    def broker(_: object) -> None:
        w.int32(ctx.node_id).string(ctx.host).int32(ctx.port).string(None).tags()

    w.array([None], broker)
    w.string(CLUSTER_ID).int32(ctx.node_id)

    def partition(index: int) -> None:
        w.int16(0).int32(index).int32(ctx.node_id).int32(LEADER_EPOCH)
        w.int32_array([ctx.node_id]).int32_array([ctx.node_id]).int32_array([]).tags()

    def topic(row: tuple[int, str | None, uuid.UUID, int]) -> None:
        error, name, topic_id, count = row
        w.int16(error).string(name).uuid(topic_id).bool(False)
        w.array(range(count), partition)
        w.int32(-(2**31)).tags()

    w.array(rows, topic)
    w.tags()


# ---------------------------------------------------------------------------------- Produce v9
def produce(ctx: Context, r: Reader, w: Writer) -> bool:
    """Append each partition's batch; returns False for acks=0, which gets no response at all."""
    transactional_id = r.nullable_string()
    acks = r.int16()
    r.int32()  # timeout_ms: appends are synchronous here

    def partition_data() -> tuple[int, bytes | None]:
        item = (r.int32(), r.nullable_bytes())
        r.tags()
        return item

    def topic_data() -> tuple[str, list[tuple[int, bytes | None]]]:
        item = (r.string(), r.array(partition_data))
        r.tags()
        return item

    topics = r.array(topic_data)
    r.tags()

    injected = ctx.faults.take_failure(0)
    results: list[tuple[str, list[tuple[int, int, int, int, int, str | None]]]] = []
    for name, partitions in topics:
        out: list[tuple[int, int, int, int, int, str | None]] = []
        for index, data in partitions:
            if injected is not None:
                out.append((index, injected, -1, -1, -1, "injected by the test broker"))
            elif acks not in (0, 1, -1):
                out.append((index, errors.INVALID_REQUIRED_ACKS, -1, -1, -1, None))
            elif transactional_id is not None:
                out.append((index, errors.INVALID_REQUEST, -1, -1, -1, "transactions are not supported"))
            else:
                out.append((index, *_append(ctx, name, index, data)))
        results.append((name, out))
    if acks == 0:
        return False

    def partition_response(row: tuple[int, int, int, int, int, str | None]) -> None:
        index, error, base_offset, append_time, log_start, message = row
        w.int32(index).int16(error).int64(base_offset).int64(append_time).int64(log_start)
        w.array([], lambda _: None)  # record_errors
        w.string(message).tags()

    def topic_response(item: tuple[str, list[tuple[int, int, int, int, int, str | None]]]) -> None:
        w.string(item[0]).array(item[1], partition_response).tags()

    w.array(results, topic_response)
    w.int32(0).tags()
    return True


def _append(ctx: Context, topic_name: str, index: int, data: bytes | None) -> tuple[int, int, int, int, str | None]:
    """(error, base offset, log append time, log start offset, message) for one partition's batch."""
    store = ctx.store
    with store.lock:
        topic = store.topics.get(topic_name)
        log = store.partition(topic_name, index)
        if topic is None or log is None:
            return errors.UNKNOWN_TOPIC_OR_PARTITION, -1, -1, -1, None
        if not data:
            return errors.INVALID_RECORD, -1, -1, log.log_start_offset, "no record batch"
        if len(data) > int(topic.config("max.message.bytes")):
            return errors.MESSAGE_TOO_LARGE, -1, -1, log.log_start_offset, None
        try:
            head = records.validate(data)
            append_time = store.clock() if topic.config("message.timestamp.type") == "LogAppendTime" else None
            if append_time is None:
                _check_timestamps(
                    store.clock(),
                    head,
                    int(topic.config("message.timestamp.before.max.ms")),
                    int(topic.config("message.timestamp.after.max.ms")),
                )
            result = log.append(data, head, append_time)
        except InvalidBatch as exc:
            return exc.code, -1, -1, log.log_start_offset, str(exc)
        store.changed.notify_all()
        return errors.NONE, result.base_offset, result.log_append_time, log.log_start_offset, None


def _check_timestamps(now: int, head: records.BatchHeader, before_ms: int, after_ms: int) -> None:
    """Kafka's CreateTime bounds around the broker's clock (KIP-937)."""
    low, high = now - before_ms, now + after_ms
    for timestamp in (head.records_min_timestamp, head.records_max_timestamp):
        if not low <= timestamp <= high:
            raise InvalidBatch(
                errors.INVALID_TIMESTAMP,
                f"Timestamp {timestamp} of message is out of range. The timestamp should be within [{low}, {high}]",
            )


# ---------------------------------------------------------------------------------- InitProducerId v4
def init_producer_id(ctx: Context, r: Reader, w: Writer) -> None:
    transactional_id = r.nullable_string()
    r.int32()  # transaction_timeout_ms
    producer_id = r.int64()
    epoch = r.int16()
    r.tags()
    error = errors.NONE
    if transactional_id is not None:
        error, producer_id, epoch = errors.INVALID_REQUEST, -1, -1  # transactions are not supported
    elif producer_id >= 0 and 0 <= epoch < 32766:
        epoch += 1  # KIP-360: an idempotent producer bumps its epoch after an unresolved sequence error
    else:
        producer_id, epoch = ctx.store.new_producer_id(), 0
    w.int32(0).int16(error).int64(producer_id).int16(epoch).tags()
