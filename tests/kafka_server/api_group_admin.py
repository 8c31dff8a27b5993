"""Group administration: ListGroups v5, DescribeGroups v6, DeleteGroups v2, OffsetDelete v0.

A group exists for these APIs while it has members or committed offsets, as in Kafka (a simple consumer's
group, which only commits, is listed as ``Empty`` with no protocol type). Every group is ``classic``.
"""

from __future__ import annotations

from kafka_server import errors
from kafka_server.context import Context
from kafka_server.groups import Group, Member
from kafka_server.protocol import Reader, Writer


def _known(ctx: Context) -> dict[str, Group]:
    """Every group with members or offsets, after session expiry."""
    known = {}
    for group_id in set(ctx.groups.groups) | set(ctx.store.offsets):
        known[group_id] = ctx.groups.group(group_id) or Group(group_id)
    return known


def list_groups(ctx: Context, r: Reader, w: Writer) -> None:
    states = set(r.array(r.string))
    types = {t.lower() for t in r.array(r.string)}
    r.tags()
    with ctx.store.changed:
        rows = [
            (g.group_id, g.protocol_type or "", g.state)
            for g in sorted(_known(ctx).values(), key=lambda g: g.group_id)
            if (not states or g.state in states) and (not types or "classic" in types)
        ]

    def row(item: tuple[str, str, str]) -> None:
        w.string(item[0]).string(item[1]).string(item[2]).string("classic").tags()

    w.int32(0).int16(0).array(rows, row).tags()


def describe_groups(ctx: Context, r: Reader, w: Writer) -> None:
    wanted = r.array(r.string)
    r.bool()  # include_authorized_operations
    r.tags()
    with ctx.store.changed:
        known = _known(ctx)
        found = [(group_id, known.get(group_id)) for group_id in wanted]

        def member(m: Member, group: Group) -> None:
            metadata = dict(m.protocols).get(group.protocol_name or "", b"")
            w.string(m.member_id).string(m.group_instance_id).string(m.client_id).string("/127.0.0.1")
            w.bytes(metadata).bytes(m.assignment).tags()

        def described(item: tuple[str, Group | None]) -> None:
            group_id, group = item
            if group is None:
                w.int16(errors.GROUP_ID_NOT_FOUND).string(f"Group {group_id} not found.").string(group_id)
                w.string("Dead").string("").string("").array([], lambda _: None).int32(-(2**31)).tags()
                return
            w.int16(0).string(None).string(group_id).string(group.state)
            w.string(group.protocol_type or "").string(group.protocol_name or "")
            w.array(group.members.values(), lambda m: member(m, group)).int32(-(2**31)).tags()

        w.int32(0).array(found, described).tags()


def delete_groups(ctx: Context, r: Reader, w: Writer) -> None:
    wanted = r.array(r.string)
    r.tags()
    results = []
    with ctx.store.changed:
        known = _known(ctx)
        for group_id in wanted:
            if group_id not in known:
                results.append((group_id, errors.GROUP_ID_NOT_FOUND))
                continue
            error = ctx.groups.delete(group_id)
            if error == errors.NONE:
                ctx.store.forget_group(group_id)
            results.append((group_id, error))

    def result(item: tuple[str, int]) -> None:
        w.string(item[0]).int16(item[1]).tags()

    w.int32(0).array(results, result).tags()


def offset_delete(ctx: Context, r: Reader, w: Writer) -> None:
    """Drop committed offsets, except of topics the group's active members are subscribed to."""
    group_id = r.string()

    def topic() -> tuple[str, list[int]]:
        return r.string(), r.array(r.int32)

    topics = r.array(topic)
    results = []
    with ctx.store.changed:
        group = _known(ctx).get(group_id)
        subscribed = _subscribed_topics(group) if group is not None else set()
        dropped = []
        for name, indexes in topics:
            out = []
            for index in indexes:
                if name in subscribed:
                    out.append((index, errors.GROUP_SUBSCRIBED_TO_TOPIC))
                elif ctx.store.partition(name, index) is None:
                    out.append((index, errors.UNKNOWN_TOPIC_OR_PARTITION))
                else:
                    out.append((index, errors.NONE))
                    dropped.append((name, index))
            results.append((name, out))
        if group is not None and dropped:
            ctx.store.forget_offsets(group_id, dropped)

    def partition(item: tuple[int, int]) -> None:
        w.int32(item[0]).int16(item[1])

    def topic_result(item: tuple[str, list[tuple[int, int]]]) -> None:
        w.string(item[0]).array(item[1], partition)

    w.int16(errors.NONE if group is not None else errors.GROUP_ID_NOT_FOUND).int32(0)
    w.array(results if group is not None else [], topic_result)


def _subscribed_topics(group: Group) -> set[str]:
    """Topics in the members' consumer-protocol subscriptions (version i16, topics [string], ...)."""
    if group.protocol_type != "consumer":
        return set()
    topics: set[str] = set()
    for member in group.members.values():
        metadata = dict(member.protocols).get(group.protocol_name or "")
        if metadata:
            reader = Reader(metadata)
            reader.int16()
            topics.update(reader.array(reader.string))
    return topics
