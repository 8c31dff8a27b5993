"""What every API handler sees: the store, who the broker is, its settings and the armed faults."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

from kafka_server.groups import GroupCoordinator
from kafka_server.store import Store

NODE_ID = 0
CLUSTER_ID = "modelmon-test-cluster"


@dataclass
class Faults:
    """Armed faults, consumed one per matching request (see ``KafkaTestBroker.fail_next`` / ``drop_next``)."""

    fail: dict[int, deque[int]] = field(default_factory=dict)  # api key -> error codes of coming requests
    drop: dict[int, deque[bool]] = field(default_factory=dict)  # api key -> "apply first?" per coming request
    stall: dict[int, deque[float]] = field(default_factory=dict)  # api key -> seconds to wait before answering

    def take_failure(self, api_key: int) -> int | None:
        queue = self.fail.get(api_key)
        return queue.popleft() if queue else None

    def take_drop(self, api_key: int) -> bool | None:
        queue = self.drop.get(api_key)
        return queue.popleft() if queue else None

    def take_stall(self, api_key: int) -> float:
        queue = self.stall.get(api_key)
        return queue.popleft() if queue else 0.0


@dataclass
class Context:
    store: Store
    host: str
    port: int
    stopping: threading.Event
    groups: GroupCoordinator
    auto_create_topics: bool = False
    #: SASL users and their passwords, for every mechanism (None: no SASL, every connection is served at once)
    sasl_users: dict[str, str] | None = None
    faults: Faults = field(default_factory=Faults)
    node_id: int = NODE_ID
    #: fetches parked until data arrives or their max wait passes (a test waits for one to be parked)
    waiting_fetches: int = 0
    #: per connection thread: ``client_id`` of the request being handled (member ids start with it)
    current: threading.local = field(default_factory=threading.local)
