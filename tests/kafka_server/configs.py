"""Topic configs the broker knows: Kafka's defaults and types, and the checks CreateTopics applies.

Only names listed here are accepted (Kafka refuses unknown topic configs with INVALID_CONFIG). Most are
stored and reported but not acted on; the ones with behaviour are ``message.timestamp.type``
(LogAppendTime stamps batches on append), ``message.timestamp.before.max.ms`` and ``...after.max.ms``
(CreateTime records further from the broker's clock are refused with INVALID_TIMESTAMP; as in Kafka 4, a
record more than an hour in the future is refused by default), ``retention.ms`` (see
``Store.enforce_retention``), ``segment.bytes`` and ``segment.ms`` (when a new segment is rolled, which is
what retention deletes) and ``max.message.bytes`` (larger batches are refused). A broker-wide value (Kafka's
``log.*`` settings) replaces a default and is described as ``STATIC_BROKER_CONFIG``. ``compression.type``
only takes ``producer``: the broker never recompresses.
"""

from __future__ import annotations

from dataclasses import dataclass

from kafka_server import errors

# DescribeConfigs config types
BOOLEAN, STRING, INT, LONG, LIST = 1, 2, 3, 5, 7
# DescribeConfigs config sources
DYNAMIC_TOPIC_CONFIG, STATIC_BROKER_CONFIG, DEFAULT_CONFIG = 1, 4, 5


@dataclass(frozen=True)
class ConfigDef:
    default: str
    type: int
    choices: tuple[str, ...] = ()


TOPIC_CONFIGS: dict[str, ConfigDef] = {
    "cleanup.policy": ConfigDef("delete", LIST, ("delete",)),
    "compression.type": ConfigDef("producer", STRING, ("producer",)),
    "delete.retention.ms": ConfigDef("86400000", LONG),
    "file.delete.delay.ms": ConfigDef("60000", LONG),
    "max.message.bytes": ConfigDef("1048588", INT),
    "message.timestamp.type": ConfigDef("CreateTime", STRING, ("CreateTime", "LogAppendTime")),
    "message.timestamp.before.max.ms": ConfigDef("9223372036854775807", LONG),
    "message.timestamp.after.max.ms": ConfigDef("3600000", LONG),  # Kafka 4.0's default (KIP-1030)
    "min.insync.replicas": ConfigDef("1", INT),
    "retention.bytes": ConfigDef("-1", LONG),
    "retention.ms": ConfigDef("604800000", LONG),
    "segment.bytes": ConfigDef("1073741824", INT),
    "segment.ms": ConfigDef("604800000", LONG),
    "unclean.leader.election.enable": ConfigDef("false", BOOLEAN, ("true", "false")),
}


class ConfigError(Exception):
    def __init__(self, message: str, code: int = errors.INVALID_CONFIG) -> None:
        super().__init__(message)
        self.code = code


def check_topic_configs(configs: dict[str, str | None]) -> dict[str, str]:
    """The configs a topic is created with, checked; null values mean "use the default" and are dropped."""
    checked = {}
    for name, value in configs.items():
        spec = TOPIC_CONFIGS.get(name)
        if spec is None:
            raise ConfigError(f"Unknown topic config name: {name}")
        if value is None:
            continue
        if spec.choices and value not in spec.choices:
            raise ConfigError(f"Invalid value {value} for configuration {name}: the test broker takes {spec.choices}")
        if spec.type in (INT, LONG):
            try:
                number = int(value)
            except ValueError:
                raise ConfigError(f"Invalid value {value} for configuration {name}: Not a number") from None
            if number < -1:
                raise ConfigError(f"Invalid value {value} for configuration {name}")
        checked[name] = value
    return checked


def topic_config(configs: dict[str, str], name: str, broker: dict[str, str] | None = None) -> str:
    """A topic's own value, else the broker's, else Kafka's default."""
    return configs.get(name, (broker or {}).get(name, TOPIC_CONFIGS[name].default))


def describe(
    configs: dict[str, str], keys: list[str] | None, broker: dict[str, str] | None = None
) -> list[tuple[str, str, int, int]]:
    """(name, value, source, type) for each requested config (all when ``keys`` is None), sorted by name."""
    names = sorted(TOPIC_CONFIGS) if keys is None else [k for k in keys if k in TOPIC_CONFIGS]
    rows = []
    for name in names:
        if name in configs:
            source = DYNAMIC_TOPIC_CONFIG
        else:
            source = STATIC_BROKER_CONFIG if name in (broker or {}) else DEFAULT_CONFIG
        rows.append((name, topic_config(configs, name, broker), source, TOPIC_CONFIGS[name].type))
    return rows
