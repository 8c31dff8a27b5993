"""The three kafka-python clients one ``KafkaStreams`` shares, made on first use and kept.

An admin client (topics, configs, offsets by time, consumer-group offsets), a producer (puts) and a
consumer without a group (reads). Each is made when first needed, so opening the backend while the
brokers are down succeeds and the first call says ``BackendUnavailable``; a client whose bootstrap
failed is made again by the next call. The admin client and the producer are thread-safe; the consumer
is not, and :class:`KafkaClients` hands it out under :attr:`read_lock` only.

Timeouts: every request waits at most ``timeout_s`` (the client retries within it), so an outage is
reported within a bounded time instead of blocking a function's worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from modelmon.backends.base import MAX_PUT_BYTES, MAX_RECORD_BYTES
from modelmon.backends.kafka.bootstrap_causes import BootstrapCauses
from modelmon.backends.kafka.failures import KAFKA_FAILURES, is_transient, translate
from modelmon.backends.kafka.log_redaction import redact_in_kafka_logs
from modelmon.backends.kafka.topics import MAX_MESSAGE_BYTES

C = TypeVar("C")
T = TypeVar("T")
_LINGER_MS = 100
_CLIENTS: tuple[type[Any], ...] = (KafkaAdminClient, KafkaProducer, KafkaConsumer)


def check_options(options: Mapping[str, Any]) -> None:
    """``ValueError`` for an option none of the clients knows (kafka-python refuses unknown settings)."""
    known = set().union(*(client.DEFAULT_CONFIG for client in _CLIENTS))
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(f"unknown kafka-python settings: {', '.join(unknown)}")


def _for(client: type[Any], settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings ``client`` accepts: options shared by all (security, SASL) reach each one."""
    return {key: value for key, value in settings.items() if key in client.DEFAULT_CONFIG}


class KafkaClients:
    """Lazily made, shared clients for the brokers ``brokers``."""

    def __init__(self, brokers: Sequence[str], client_id: str, timeout_s: float, options: Mapping[str, Any]) -> None:
        if isinstance(brokers, str) or not brokers or not all(isinstance(b, str) and b for b in brokers):
            raise ValueError(f"brokers must be a non-empty list of 'host:port' strings, got {brokers!r}")
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s!r}")
        check_options(options)
        if options.get("sasl_plain_password"):
            redact_in_kafka_logs(options["sasl_plain_password"])
        self.timeout_ms = max(1, int(timeout_s * 1000))
        common: dict[str, Any] = {
            "bootstrap_servers": list(brokers),
            "client_id": client_id,
            "request_timeout_ms": self.timeout_ms,
            "bootstrap_timeout_ms": self.timeout_ms,
            "reconnect_backoff_max_ms": 1000,  # a restarted broker is found again within a second
        }
        self._admin_settings = {**common, **_for(KafkaAdminClient, options)}
        self._producer_settings = {
            **common,
            "acks": "all",
            # put_records sends a request's records, then flushes, so lingering never delays a put: it keeps
            # the records of one request (up to 1 MB per partition) in one batch per partition, sent in one
            # produce request at the flush, which the broker applies whole or not at all
            "linger_ms": _LINGER_MS,
            "batch_size": MAX_RECORD_BYTES,
            "max_request_size": MAX_PUT_BYTES,
            "max_block_ms": self.timeout_ms,
            "delivery_timeout_ms": self.timeout_ms + _LINGER_MS,  # Kafka wants >= linger + request timeout
            "allow_auto_create_topics": False,  # a put to a missing stream is NotFound, as on every backend
            **_for(KafkaProducer, options),
        }
        self._consumer_settings = {
            **common,
            "group_id": None,  # offsets are committed by the admin client, as the contract's commit() says
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",  # an expired position resumes at the oldest record kept
            "allow_auto_create_topics": False,
            # reads move between partitions: a prefetch parked at a partition's end must not hold the next
            # read up long, and a fetch session (KIP-227) would be rebuilt at every move anyway
            "fetch_max_wait_ms": 100,
            "enable_incremental_fetch_sessions": False,
            "max_partition_fetch_bytes": MAX_MESSAGE_BYTES,
            **_for(KafkaConsumer, options),
        }
        self._lock = threading.Lock()
        self.read_lock = threading.Lock()
        self._admin: KafkaAdminClient | None = None
        self._producer: KafkaProducer | None = None
        self._consumer: KafkaConsumer | None = None
        self._closed = False

    def admin(self) -> KafkaAdminClient:
        with self._lock:
            if self._admin is None:
                self._admin = self._make("admin client", KafkaAdminClient, self._admin_settings)
            return self._admin

    def call_admin(self, what: str, path: str | None, call: Callable[[KafkaAdminClient], T]) -> T:
        """``call(admin)``, tried again while it fails transiently, until the timeout.

        The admin client fails at once when no broker connection is ready (``NodeNotReadyError``, e.g.
        while it backs off reconnecting to a restarted broker), where the producer and consumer wait:
        this gives admin calls the same patience. Errors come out translated (``translate``)."""
        deadline = time.monotonic() + self.timeout_ms / 1000
        delay = 0.05
        while True:
            try:
                return call(self.admin())
            except KAFKA_FAILURES as exc:
                if not is_transient(exc) or time.monotonic() + delay > deadline:
                    raise translate(exc, what, path) from exc
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def producer(self) -> KafkaProducer:
        with self._lock:
            if self._producer is None:
                self._producer = self._make("producer", KafkaProducer, self._producer_settings)
            return self._producer

    def consumer(self) -> KafkaConsumer:
        """The reading consumer; only under :attr:`read_lock`."""
        with self._lock:
            if self._consumer is None:
                self._consumer = self._make("consumer", KafkaConsumer, self._consumer_settings)
            return self._consumer

    def _make(self, what: str, client: Callable[..., C], settings: Mapping[str, Any]) -> C:
        if self._closed:
            raise ValueError("the Kafka streams backend is closed")
        where = f"connecting a {what} to {settings['bootstrap_servers']}"
        with BootstrapCauses() as causes:  # a wrong password or CA is a timeout to kafka-python: find why
            try:
                return client(**settings)
            except KAFKA_FAILURES as exc:
                raise (causes.error(where) or translate(exc, where)) from exc

    def close(self) -> None:
        """Close every client made (the producer sends what it holds first, within the timeout)."""
        with self._lock:
            self._closed = True
            admin, producer, consumer = self._admin, self._producer, self._consumer
            self._admin = self._producer = self._consumer = None
        if producer is not None:
            producer.close(timeout=self.timeout_ms / 1000)
        if consumer is not None:
            with self.read_lock:
                consumer.close(autocommit=False, timeout_ms=self.timeout_ms)
        if admin is not None:
            admin.close()
