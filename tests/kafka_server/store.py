"""The broker's state: topics with their partition logs, committed group offsets, producer ids.

One lock guards everything, and its condition wakes the waiters (long-poll fetches, group joins) whenever
data is appended or a group changes, so waiting costs no CPU. With ``data_dir`` the state lives in files a
restarted broker reads back: ``meta.json`` (topics, their ids and configs, the next producer id),
``offsets.json`` (committed offsets, rewritten whole on each commit) and ``logs/<topic>-<partition>.log``
(the raw stored batches, appended).

``clock`` (epoch ms) is the broker's clock: LogAppendTime stamps, the CreateTime bounds and retention read
it, so a test can move the broker's time as it moves its own. ``broker_configs`` are topic configs set for
the whole broker (Kafka's ``log.segment.bytes``, ``log.roll.ms``, ...), used where a topic sets none.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka_server import configs
from kafka_server.log import PartitionLog

_VALID_TOPIC = re.compile(r"^[a-zA-Z0-9._-]{1,249}$")


def topic_name_error(name: str) -> str | None:
    """Kafka's topic name rule, which the stream backend's names must meet."""
    if name in (".", ".."):
        return f"Topic name cannot be {name!r}"
    if not _VALID_TOPIC.match(name):
        return f"Topic name {name!r} is illegal: up to 249 of ASCII alphanumerics, '.', '_' and '-'"
    return None


@dataclass
class Topic:
    name: str
    id: uuid.UUID
    configs: dict[str, str]
    partitions: list[PartitionLog] = field(default_factory=list)
    broker_configs: dict[str, str] = field(default_factory=dict)

    def config(self, name: str) -> str:
        return configs.topic_config(self.configs, name, self.broker_configs)

    def segment_limits(self) -> tuple[int, int]:
        return int(self.config("segment.bytes")), int(self.config("segment.ms"))


@dataclass
class CommittedOffset:
    offset: int
    leader_epoch: int
    metadata: str


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


class Store:
    def __init__(
        self,
        data_dir: str | Path | None = None,
        default_partitions: int = 1,
        clock: Callable[[], int] = wall_clock_ms,
        broker_configs: dict[str, str] | None = None,
    ) -> None:
        self.clock = clock
        self.broker_configs = configs.check_topic_configs(dict(broker_configs or {}))
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.default_partitions = default_partitions
        self.topics: dict[str, Topic] = {}
        self.offsets: dict[str, dict[tuple[str, int], CommittedOffset]] = {}
        self.next_producer_id = 1000
        if self.data_dir is not None:
            (self.data_dir / "logs").mkdir(parents=True, exist_ok=True)
            self._load()

    # ------------------------------------------------------------------------------ topics
    def create_topic(self, name: str, partitions: int, topic_configs: dict[str, str]) -> Topic:
        with self.lock:
            topic = Topic(name, uuid.uuid4(), topic_configs, broker_configs=self.broker_configs)
            topic.partitions = [PartitionLog(self._log_path(name, p), topic.segment_limits) for p in range(partitions)]
            self.topics[name] = topic
            self._save_meta()
            self.changed.notify_all()
            return topic

    def delete_topic(self, name: str) -> None:
        with self.lock:
            del self.topics[name]
            for committed in self.offsets.values():
                for key in [k for k in committed if k[0] == name]:
                    del committed[key]
            if self.data_dir is not None:
                for path in (self.data_dir / "logs").glob(f"{name}-*.log"):
                    if path.stem.rsplit("-", 1)[0] == name:
                        path.unlink()
            self._save_meta()
            self._save_offsets()
            self.changed.notify_all()

    def set_topic_configs(self, name: str, topic_configs: dict[str, str]) -> None:
        with self.lock:
            self.topics[name].configs = topic_configs
            self._save_meta()

    def topic_by_id(self, topic_id: uuid.UUID) -> Topic | None:
        return next((t for t in self.topics.values() if t.id == topic_id), None)

    def partition(self, topic: str, index: int) -> PartitionLog | None:
        found = self.topics.get(topic)
        if found is None or not 0 <= index < len(found.partitions):
            return None
        return found.partitions[index]

    def enforce_retention(self, now_ms: int | None = None) -> None:
        """Delete the segments each topic's ``retention.ms`` lets go at ``now_ms`` (default: the clock's now)."""
        with self.lock:
            now_ms = self.clock() if now_ms is None else now_ms
            for topic in self.topics.values():
                retention = int(topic.config("retention.ms"))
                if retention >= 0:
                    for log in topic.partitions:
                        log.expire(now_ms, retention)

    # ------------------------------------------------------------------------------ offsets
    def commit(self, group: str, offsets: dict[tuple[str, int], CommittedOffset]) -> None:
        with self.lock:
            self.offsets.setdefault(group, {}).update(offsets)
            self._save_offsets()

    def forget_offsets(self, group: str, partitions: list[tuple[str, int]]) -> None:
        with self.lock:
            committed = self.offsets.get(group, {})
            for key in partitions:
                committed.pop(key, None)
            self._save_offsets()

    def forget_group(self, group: str) -> bool:
        """Drop a group's committed offsets; False if it had none."""
        with self.lock:
            if self.offsets.pop(group, None) is None:
                return False
            self._save_offsets()
            return True

    def new_producer_id(self) -> int:
        with self.lock:
            pid = self.next_producer_id
            self.next_producer_id += 1
            self._save_meta()
            return pid

    # ------------------------------------------------------------------------------ files
    def _log_path(self, topic: str, partition: int) -> Path | None:
        return None if self.data_dir is None else self.data_dir / "logs" / f"{topic}-{partition}.log"

    def _save_meta(self) -> None:
        if self.data_dir is None:
            return
        meta = {
            "next_producer_id": self.next_producer_id,
            "topics": {
                t.name: {"id": str(t.id), "partitions": len(t.partitions), "configs": t.configs}
                for t in self.topics.values()
            },
        }
        _write_json(self.data_dir / "meta.json", meta)

    def _save_offsets(self) -> None:
        if self.data_dir is None:
            return
        rows = {
            group: [[t, p, c.offset, c.leader_epoch, c.metadata] for (t, p), c in committed.items()]
            for group, committed in self.offsets.items()
        }
        _write_json(self.data_dir / "offsets.json", rows)

    def _load(self) -> None:
        assert self.data_dir is not None
        meta_path = self.data_dir / "meta.json"
        if meta_path.exists():
            meta = json.loads(meta_path.read_text())
            self.next_producer_id = meta["next_producer_id"]
            for name, spec in meta["topics"].items():
                topic = Topic(name, uuid.UUID(spec["id"]), spec["configs"], broker_configs=self.broker_configs)
                topic.partitions = [
                    PartitionLog(self._log_path(name, p), topic.segment_limits) for p in range(spec["partitions"])
                ]
                self.topics[name] = topic
        offsets_path = self.data_dir / "offsets.json"
        if offsets_path.exists():
            for group, rows in json.loads(offsets_path.read_text()).items():
                self.offsets[group] = {(t, p): CommittedOffset(o, e, m) for t, p, o, e, m in rows}

    def wipe(self) -> None:
        """Forget everything, files included (a fresh cluster on the same folder)."""
        with self.lock:
            self.topics.clear()
            self.offsets.clear()
            if self.data_dir is not None:
                shutil.rmtree(self.data_dir / "logs", ignore_errors=True)
                (self.data_dir / "logs").mkdir(parents=True)
                for name in ("meta.json", "offsets.json"):
                    (self.data_dir / name).unlink(missing_ok=True)


def _write_json(path: Path, value: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(value))
    os.replace(tmp, path)
