"""Topic administration: CreateTopics v7, DeleteTopics v6, DescribeConfigs v4, IncrementalAlterConfigs v1."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from kafka_server import configs, errors
from kafka_server.configs import ConfigError
from kafka_server.context import Context
from kafka_server.protocol import NULL_UUID, Reader, Writer
from kafka_server.store import topic_name_error

TOPIC_RESOURCE, BROKER_RESOURCE = 2, 4


@dataclass
class Created:
    id: uuid.UUID
    partitions: int
    configs: dict[str, str]


def create_topics(ctx: Context, r: Reader, w: Writer) -> None:
    def assignment() -> list[int]:
        r.int32()
        brokers = r.array(r.int32)
        r.tags()
        return brokers

    def config() -> tuple[str, str | None]:
        item = (r.string(), r.nullable_string())
        r.tags()
        return item

    def creatable() -> tuple[str, int, int, list[list[int]], dict[str, str | None]]:
        item = (r.string(), r.int32(), r.int16(), r.array(assignment), dict(r.array(config)))
        r.tags()
        return item

    wanted = r.array(creatable)
    r.int32()  # timeout_ms: creation is immediate
    validate_only = r.bool()
    r.tags()

    results = []
    with ctx.store.lock:
        for name, partitions, replication, assignments, raw_configs in wanted:
            answer = _create_one(ctx, name, partitions, replication, assignments, raw_configs, validate_only)
            results.append((name, *answer))

    def config_row(row: tuple[str, str, int, int]) -> None:
        w.string(row[0]).string(row[1]).bool(False).int8(row[2]).bool(False).tags()

    def result(item: tuple[str, int, str | None, Created | None]) -> None:
        name, error, message, created = item
        w.string(name).uuid(created.id if created else NULL_UUID).int16(error).string(message)
        w.int32(created.partitions if created else -1).int16(1 if created else -1)
        w.array(configs.describe(created.configs, None, ctx.store.broker_configs) if created else None, config_row)
        w.tags()

    w.int32(0).array(results, result).tags()


def _create_one(
    ctx: Context,
    name: str,
    partitions: int,
    replication: int,
    assignments: list[list[int]],
    raw_configs: dict[str, str | None],
    validate_only: bool,
) -> tuple[int, str | None, Created | None]:
    """(error, message, topic) for one CreatableTopic; a validate-only topic is described but not kept."""
    if (problem := topic_name_error(name)) is not None:
        return errors.INVALID_TOPIC_EXCEPTION, problem, None
    if name in ctx.store.topics:
        return errors.TOPIC_ALREADY_EXISTS, f"Topic '{name}' already exists.", None
    if assignments:
        if partitions != -1 or replication != -1:
            return errors.INVALID_REQUEST, "replicasAssignments with numPartitions or replicationFactor set", None
        if any(brokers != [ctx.node_id] for brokers in assignments):
            return errors.INVALID_REPLICA_ASSIGNMENT, f"the only broker is {ctx.node_id}", None
        partitions = len(assignments)
    if partitions == -1:
        partitions = ctx.store.default_partitions
    if partitions <= 0:
        return errors.INVALID_PARTITIONS, "Number of partitions must be larger than 0.", None
    if replication not in (-1, 1) and not assignments:
        return (
            errors.INVALID_REPLICATION_FACTOR,
            f"Unable to replicate the partition {replication} time(s): The target replication factor of"
            f" {replication} cannot be reached because only 1 broker(s) are registered.",
            None,
        )
    try:
        checked = configs.check_topic_configs(raw_configs)
    except ConfigError as exc:
        return exc.code, str(exc), None
    topic_id = NULL_UUID if validate_only else ctx.store.create_topic(name, partitions, checked).id
    return errors.NONE, None, Created(topic_id, partitions, checked)


def delete_topics(ctx: Context, r: Reader, w: Writer) -> None:
    def state() -> tuple[str | None, uuid.UUID]:
        item = (r.nullable_string(), r.uuid())
        r.tags()
        return item

    wanted = r.array(state)
    r.int32()  # timeout_ms
    r.tags()

    results = []
    with ctx.store.lock:
        for name, topic_id in wanted:
            topic = ctx.store.topics.get(name) if name is not None else ctx.store.topic_by_id(topic_id)
            if topic is None:
                error = errors.UNKNOWN_TOPIC_OR_PARTITION if name is not None else errors.UNKNOWN_TOPIC_ID
                results.append((name, topic_id, error))
                continue
            ctx.store.delete_topic(topic.name)
            results.append((topic.name, topic.id, errors.NONE))

    def result(item: tuple[str | None, uuid.UUID, int]) -> None:
        w.string(item[0]).uuid(item[1]).int16(item[2]).string(None).tags()

    w.int32(0).array(results, result).tags()


def describe_configs(ctx: Context, r: Reader, w: Writer) -> None:
    """Topic configs (set ones as DYNAMIC_TOPIC_CONFIG, the rest as DEFAULT_CONFIG) and a few broker ones."""

    def resource() -> tuple[int, str, list[str] | None]:
        item = (r.int8(), r.string(), r.nullable_array(r.string))
        r.tags()
        return item

    wanted = r.array(resource)
    r.bool()  # include_synonyms: answered with none
    r.bool()  # include_documentation
    r.tags()

    results: list[tuple[int, str | None, int, str, list[tuple[str, str, int, int]]]] = []
    with ctx.store.lock:
        for kind, name, keys in wanted:
            if kind == TOPIC_RESOURCE:
                topic = ctx.store.topics.get(name)
                if topic is None:
                    results.append((errors.UNKNOWN_TOPIC_OR_PARTITION, f"Topic {name} does not exist", kind, name, []))
                else:
                    described = configs.describe(topic.configs, keys, topic.broker_configs)
                    results.append((errors.NONE, None, kind, name, described))
            elif kind == BROKER_RESOURCE and name in ("", str(ctx.node_id)):
                rows = [
                    ("auto.create.topics.enable", str(ctx.auto_create_topics).lower(), configs.STATIC_BROKER_CONFIG, 1),
                    ("num.partitions", str(ctx.store.default_partitions), configs.STATIC_BROKER_CONFIG, 3),
                ]
                results.append((errors.NONE, None, kind, name, [x for x in rows if keys is None or x[0] in keys]))
            else:
                results.append((errors.INVALID_REQUEST, f"resource type {kind} {name!r} is not served", kind, name, []))

    def config_row(row: tuple[str, str, int, int]) -> None:
        name, value, source, kind = row
        w.string(name).string(value).bool(source == configs.STATIC_BROKER_CONFIG).int8(source).bool(False)
        w.array([], lambda _: None)  # synonyms
        w.int8(kind).string(None).tags()

    def result(item: tuple[int, str | None, int, str, list[tuple[str, str, int, int]]]) -> None:
        error, message, kind, name, rows = item
        w.int16(error).string(message).int8(kind).string(name).array(rows, config_row).tags()

    w.int32(0).array(results, result).tags()


SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3


def incremental_alter_configs(ctx: Context, r: Reader, w: Writer) -> None:
    """Change topic configs (SET, DELETE, and APPEND/SUBTRACT on list configs), checked as at creation."""

    def entry() -> tuple[str, int, str | None]:
        item = (r.string(), r.int8(), r.nullable_string())
        r.tags()
        return item

    def resource() -> tuple[int, str, list[tuple[str, int, str | None]]]:
        item = (r.int8(), r.string(), r.array(entry))
        r.tags()
        return item

    wanted = r.array(resource)
    validate_only = r.bool()
    r.tags()

    results: list[tuple[int, str | None, int, str]] = []
    with ctx.store.lock:
        for kind, name, changes in wanted:
            topic = ctx.store.topics.get(name) if kind == TOPIC_RESOURCE else None
            if kind != TOPIC_RESOURCE:
                results.append((errors.INVALID_REQUEST, f"resource type {kind} is not alterable here", kind, name))
            elif topic is None:
                results.append((errors.UNKNOWN_TOPIC_OR_PARTITION, f"Topic {name} does not exist", kind, name))
            else:
                try:
                    updated = configs.check_topic_configs(_apply(topic.configs, changes))
                except ConfigError as exc:
                    results.append((exc.code, str(exc), kind, name))
                    continue
                if not validate_only:
                    ctx.store.set_topic_configs(name, updated)
                results.append((errors.NONE, None, kind, name))

    def result(item: tuple[int, str | None, int, str]) -> None:
        w.int16(item[0]).string(item[1]).int8(item[2]).string(item[3]).tags()

    w.int32(0).array(results, result).tags()


def _apply(current: dict[str, str], changes: list[tuple[str, int, str | None]]) -> dict[str, str | None]:
    updated: dict[str, str | None] = dict(current)
    for name, operation, value in changes:
        spec = configs.TOPIC_CONFIGS.get(name)
        if spec is None:
            raise ConfigError(f"Unknown topic config name: {name}")
        if operation == SET:
            updated[name] = value
        elif operation == DELETE:
            updated.pop(name, None)
        elif operation in (APPEND, SUBTRACT) and spec.type == configs.LIST:
            items = [i for i in (updated.get(name) or spec.default).split(",") if i]
            extra = [i for i in (value or "").split(",") if i]
            kept = (
                items + [i for i in extra if i not in items]
                if operation == APPEND
                else [i for i in items if i not in extra]
            )
            updated[name] = ",".join(kept)
        else:
            raise ConfigError(f"operation {operation} does not apply to {name}", errors.INVALID_CONFIG)
    return updated
