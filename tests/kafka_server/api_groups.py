"""Consumer groups on the wire: FindCoordinator v6, OffsetCommit v8, OffsetFetch v8, JoinGroup v7,
SyncGroup v5, Heartbeat v4, LeaveGroup v5. The state machine lives in ``groups.py``."""

from __future__ import annotations

from kafka_server import errors
from kafka_server.context import Context
from kafka_server.protocol import Reader, Writer
from kafka_server.store import CommittedOffset

GROUP_KEY, TRANSACTION_KEY = 0, 1
MAX_METADATA = 4096  # offset.metadata.max.bytes


def find_coordinator(ctx: Context, r: Reader, w: Writer) -> None:
    """This broker coordinates every group (transactional ids too, though transactions are not served)."""
    key_type = r.int8()
    keys = r.array(r.string)
    r.tags()

    def coordinator(key: str) -> None:
        if key_type not in (GROUP_KEY, TRANSACTION_KEY) or not key:
            w.string(key).int32(-1).string("").int32(-1).int16(errors.INVALID_REQUEST).string("bad key").tags()
        else:
            w.string(key).int32(ctx.node_id).string(ctx.host).int32(ctx.port).int16(0).string(None).tags()

    w.int32(0).array(keys, coordinator).tags()


def offset_commit(ctx: Context, r: Reader, w: Writer) -> None:
    group_id = r.string()
    generation = r.int32()
    member_id = r.string()
    r.nullable_string()  # group_instance_id

    def partition() -> tuple[int, int, int, str | None]:
        item = (r.int32(), r.int64(), r.int32(), r.nullable_string())
        r.tags()
        return item

    def topic() -> tuple[str, list[tuple[int, int, int, str | None]]]:
        item = (r.string(), r.array(partition))
        r.tags()
        return item

    topics = r.array(topic)
    r.tags()

    results = []
    injected = ctx.faults.take_failure(8)
    with ctx.store.changed:
        group_error = injected or ctx.groups.commit_error(group_id, generation, member_id)
        accepted: dict[tuple[str, int], CommittedOffset] = {}
        for name, partitions in topics:
            out = []
            for index, offset, epoch, metadata in partitions:
                if group_error:
                    error = group_error
                elif ctx.store.partition(name, index) is None:
                    error = errors.UNKNOWN_TOPIC_OR_PARTITION
                elif metadata is not None and len(metadata.encode("utf-8")) > MAX_METADATA:
                    error = errors.OFFSET_METADATA_TOO_LARGE
                else:
                    error = errors.NONE
                    accepted[(name, index)] = CommittedOffset(offset, epoch, metadata or "")
                out.append((index, error))
            results.append((name, out))
        if accepted:
            ctx.store.commit(group_id, accepted)

    def partition_result(item: tuple[int, int]) -> None:
        w.int32(item[0]).int16(item[1]).tags()

    def topic_result(item: tuple[str, list[tuple[int, int]]]) -> None:
        w.string(item[0]).array(item[1], partition_result).tags()

    w.int32(0).array(results, topic_result).tags()


def offset_fetch(ctx: Context, r: Reader, w: Writer) -> None:
    """Committed offsets per group; a partition never committed answers offset -1 without error."""

    def topic() -> tuple[str, list[int]]:
        item = (r.string(), r.array(r.int32))
        r.tags()
        return item

    def group() -> tuple[str, list[tuple[str, list[int]]] | None]:
        item = (r.string(), r.nullable_array(topic))
        r.tags()
        return item

    groups = r.array(group)
    r.bool()  # require_stable: there are no transactions, so offsets are always stable
    r.tags()

    answers = []
    with ctx.store.lock:
        for group_id, topics in groups:
            committed = ctx.store.offsets.get(group_id, {})
            if topics is None:
                by_topic: dict[str, list[int]] = {}
                for name, index in sorted(committed):
                    by_topic.setdefault(name, []).append(index)
                topics = list(by_topic.items())
            rows = []
            for name, indexes in topics:
                found = [(i, committed.get((name, i), CommittedOffset(-1, -1, ""))) for i in indexes]
                rows.append((name, found))
            answers.append((group_id, rows))

    def partition(item: tuple[int, CommittedOffset]) -> None:
        index, c = item
        w.int32(index).int64(c.offset).int32(c.leader_epoch).string(c.metadata).int16(0).tags()

    def topic_answer(item: tuple[str, list[tuple[int, CommittedOffset]]]) -> None:
        w.string(item[0]).array(item[1], partition).tags()

    def group_answer(item: tuple[str, list[tuple[str, list[tuple[int, CommittedOffset]]]]]) -> None:
        w.string(item[0]).array(item[1], topic_answer).int16(0).tags()

    w.int32(0).array(answers, group_answer).tags()


def join_group(ctx: Context, r: Reader, w: Writer) -> None:
    group_id = r.string()
    session_timeout = r.int32()
    rebalance_timeout = r.int32()
    member_id = r.string()
    instance_id = r.nullable_string()
    protocol_type = r.string()

    def protocol() -> tuple[str, bytes]:
        item = (r.string(), r.bytes())
        r.tags()
        return item

    protocols = r.array(protocol)
    r.tags()

    client_id = getattr(ctx.current, "client_id", None) or "member"
    result = ctx.groups.join(
        group_id, member_id, instance_id, client_id, session_timeout, rebalance_timeout, protocol_type, protocols
    )
    w.int32(0).int16(result.error).int32(result.generation).string(result.protocol_type)
    w.string(result.protocol_name).string(result.leader).string(result.member_id)

    def member(item: tuple[str, str | None, bytes]) -> None:
        w.string(item[0]).string(item[1]).bytes(item[2]).tags()

    w.array(result.members, member).tags()


def sync_group(ctx: Context, r: Reader, w: Writer) -> None:
    group_id = r.string()
    generation = r.int32()
    member_id = r.string()
    r.nullable_string()  # group_instance_id
    r.nullable_string()  # protocol_type
    r.nullable_string()  # protocol_name

    def assignment() -> tuple[str, bytes]:
        item = (r.string(), r.bytes())
        r.tags()
        return item

    assignments = dict(r.array(assignment))
    r.tags()
    error, data = ctx.groups.sync(group_id, generation, member_id, assignments)
    group = ctx.groups.groups.get(group_id)
    protocol_type = group.protocol_type if group is not None and not error else None
    protocol_name = group.protocol_name if group is not None and not error else None
    w.int32(0).int16(error).string(protocol_type).string(protocol_name).bytes(data).tags()


def heartbeat(ctx: Context, r: Reader, w: Writer) -> None:
    group_id = r.string()
    generation = r.int32()
    member_id = r.string()
    r.nullable_string()  # group_instance_id
    r.tags()
    w.int32(0).int16(ctx.groups.heartbeat(group_id, generation, member_id)).tags()


def leave_group(ctx: Context, r: Reader, w: Writer) -> None:
    group_id = r.string()

    def identity() -> tuple[str, str | None]:
        item = (r.string(), r.nullable_string())
        r.nullable_string()  # reason
        r.tags()
        return item

    members = r.array(identity)
    r.tags()
    results = ctx.groups.leave(group_id, [member_id for member_id, _ in members])

    def member(item: tuple[tuple[str, str | None], int]) -> None:
        (member_id, instance_id), error = item
        w.string(member_id).string(instance_id).int16(error).tags()

    w.int32(0).int16(0).array(zip(members, results, strict=True), member).tags()
