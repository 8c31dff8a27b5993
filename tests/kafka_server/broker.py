"""The socket side: one listening socket on 127.0.0.1, one thread per client connection, and fault knobs.

Like a Kafka broker, a connection's requests are handled one at a time, in order, and each is handled only
once its whole size-prefixed frame has arrived: a frame cut off by a client that died is discarded, never
half-applied. A request for an API or version not served closes the connection, as Kafka does.

Usage::

    with KafkaTestBroker() as broker:
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap)

Fault knobs count requests of one API (by name or key): :meth:`fail_next` answers the next ``n`` requests
with an error code on every partition, applying nothing; :meth:`drop_next` closes the connection instead of
answering, before or after applying the request (the response lost on the way back); :meth:`stall_next`
delays the answer (a slow broker, for request timeouts).

Time: ``clock`` (epoch ms, wall time by default) is the broker's clock, which a test may replace (as a
``ManualClock``) to move the broker's time with its own: LogAppendTime stamps, ListOffsets by timestamp
(over those stamps), the CreateTime bounds and retention all follow it. Retention runs as Kafka's does, every
``retention_check_ms`` of that clock (``log.retention.check.interval.ms``): a pass falls due once the clock
is that far past the last one, and runs before the next request is handled (and from a timer thread, for a
wall clock), so a client sees what a broker with that clock would have deleted by then.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import struct
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from kafka_server import sasl
from kafka_server.apis import SERVED, handle, parse_request
from kafka_server.context import Context
from kafka_server.groups import GroupCoordinator
from kafka_server.protocol import ProtocolError
from kafka_server.store import Store, wall_clock_ms

log = logging.getLogger("kafka_server")

#: A segment per batch (every batch is over 14 bytes): the smallest ``log.segment.bytes`` Kafka 3 accepts.
SEGMENT_PER_BATCH = {"segment.bytes": "14"}

MAX_FRAME = 100 * 1024 * 1024  # socket.request.max.bytes
_FAILABLE = (0, 1, 2, 8)  # Produce, Fetch, ListOffsets, OffsetCommit


def api_key(api: int | str) -> int:
    if isinstance(api, int):
        return api
    for key, served in SERVED.items():
        if served.name.lower() == api.lower():
            return key
    raise ValueError(f"unknown API {api!r}; served: {sorted(a.name for a in SERVED.values())}")


class KafkaTestBroker:
    """A one-node Kafka cluster for tests, speaking the wire protocol kafka-python uses.

    ``data_dir`` keeps topics, logs and committed offsets in files that :meth:`restart` (or a new broker on
    the same folder) reads back; without it the state lives in memory and survives :meth:`restart` too.
    ``auto_create_topics`` creates a topic named in a Metadata request that allows it (Kafka's
    ``auto.create.topics.enable``, off by default here) with ``default_partitions`` partitions.
    ``retention_check_ms`` runs :meth:`enforce_retention` that often on ``clock`` (None: only when asked).
    ``broker_configs`` sets topic configs broker-wide (``{"segment.ms": ...}`` as Kafka's ``log.roll.ms``);
    left out, it is :data:`SEGMENT_PER_BATCH`, so a retention pass deletes exactly the batches it lets go and
    tests of expiry read batch by batch. ``broker_configs={}`` is a broker on Kafka's own defaults (segments
    of 1 GiB or 7 days), on which a batch stays as long as a newer one shares its segment.
    ``session_timeout_range`` is Kafka's ``group.min.session.timeout.ms`` and ``group.max.session.timeout.ms``:
    a JoinGroup outside it gets INVALID_SESSION_TIMEOUT (a test may lower the minimum to see a dead member
    expire sooner).
    ``sasl_users`` (user -> password) makes it a ``SASL_*`` listener (:mod:`kafka_server.sasl`: PLAIN,
    SCRAM-SHA-256/512): a connection is served only once it has authenticated. ``ssl_context`` (a server
    context with its certificate loaded, :mod:`kafka_server.tls`) makes every connection TLS (``SSL`` or
    ``SASL_SSL``).
    """

    def __init__(
        self,
        data_dir: str | Path | None = None,
        port: int = 0,
        auto_create_topics: bool = False,
        default_partitions: int = 1,
        host: str = "127.0.0.1",
        retention_check_ms: int | None = None,
        session_timeout_range: tuple[int, int] = (6_000, 1_800_000),
        clock: Callable[[], int] = wall_clock_ms,
        broker_configs: dict[str, str] | None = None,
        sasl_users: dict[str, str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.host = host
        self.retention_check_ms = retention_check_ms
        self._port = port
        broker_configs = SEGMENT_PER_BATCH if broker_configs is None else broker_configs
        self.store = Store(self.data_dir, default_partitions, clock, broker_configs)
        self._last_retention_ms = clock()
        self.stopping = threading.Event()
        self.ctx = Context(
            self.store,
            host,
            port,
            self.stopping,
            GroupCoordinator(self.store.changed, self.stopping, session_timeout_range),
            auto_create_topics,
            sasl_users=dict(sasl_users) if sasl_users is not None else None,
        )
        self.ssl_context = ssl_context
        #: why connections were closed during TLS or SASL (handshake errors, refused requests), for assertions
        self.refusals: list[str] = []
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        #: (api key, version) of every request handled, in arrival order, so a test sees what a client sent
        self.requests: list[tuple[int, int]] = []

    # ------------------------------------------------------------------------------ lifecycle
    @property
    def port(self) -> int:
        return self._port

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self._port}"

    def start(self) -> KafkaTestBroker:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self._port))
        listener.listen(64)
        self._port = self.ctx.port = listener.getsockname()[1]
        self._listener = listener
        self.stopping.clear()
        thread = threading.Thread(target=self._accept, name=f"kafka-broker-{self._port}", daemon=True)
        thread.start()
        self._threads = [thread]
        if self.retention_check_ms:
            cleaner = threading.Thread(target=self._retention_loop, args=(self.retention_check_ms,), daemon=True)
            cleaner.start()
            self._threads.append(cleaner)
        return self

    def stop(self) -> None:
        """Close the listener and every connection; waiting fetches and joins return at once."""
        self.stopping.set()
        with self.store.changed:
            self.store.changed.notify_all()
        if self._listener is not None:
            _shutdown(self._listener)
            self._listener = None
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            _shutdown(conn)
        for thread in list(self._threads):
            thread.join(timeout=5)
        self._threads = []

    @property
    def clock(self) -> Callable[[], int]:
        return self.store.clock

    @clock.setter
    def clock(self, clock: Callable[[], int]) -> None:
        """Swap the broker's clock (kept across :meth:`restart`); the retention schedule restarts from its now."""
        with self.store.lock:
            self.store.clock = clock
            self._last_retention_ms = clock()

    def restart(self) -> None:
        """Stop and start on the same port; with ``data_dir`` the state is read back from its files.

        Group membership (generations, members, assignments) is kept too, as Kafka reloads it from its
        offsets topic; a broker started anew on the same folder knows the committed offsets only.
        """
        self.stop()
        if self.data_dir is not None:
            old = self.store
            self.store = Store(self.data_dir, old.default_partitions, old.clock, old.broker_configs)
            self.ctx.store = self.store
            self.ctx.groups.changed = self.store.changed  # group state is kept, as Kafka reloads it
        self.start()

    def __enter__(self) -> KafkaTestBroker:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    # ------------------------------------------------------------------------------ faults and knobs
    @property
    def auto_create_topics(self) -> bool:
        return self.ctx.auto_create_topics

    @auto_create_topics.setter
    def auto_create_topics(self, value: bool) -> None:
        self.ctx.auto_create_topics = value

    @property
    def waiting_fetches(self) -> int:
        """Fetch requests parked in the broker right now, waiting for data (long poll)."""
        with self.store.lock:
            return self.ctx.waiting_fetches

    def fail_next(self, n: int, error_code: int, api: int | str = "Produce") -> None:
        """Answer the next ``n`` requests of ``api`` with ``error_code`` on each partition, applying nothing.

        Served for Produce, Fetch, ListOffsets and OffsetCommit (the APIs whose answers carry a code per
        partition); a fetch so failed is answered at once.
        """
        key = api_key(api)
        if key not in _FAILABLE:
            raise ValueError(f"fail_next serves {sorted(SERVED[k].name for k in _FAILABLE)}; use drop_next")
        self.ctx.faults.fail.setdefault(key, deque()).extend([error_code] * n)

    def stall_next(self, n: int, seconds: float, api: int | str = "Produce") -> None:
        """Wait ``seconds`` before handling each of the next ``n`` requests of ``api`` (a slow broker)."""
        self.ctx.faults.stall.setdefault(api_key(api), deque()).extend([seconds] * n)

    def drop_next(self, n: int, api: int | str = "Produce", after_apply: bool = False) -> None:
        """Close the connection instead of answering the next ``n`` requests of ``api``.

        ``after_apply=True`` handles the request first, so its effect stays while the client never hears of
        it (a produce it will retry); otherwise the request is dropped unread.
        """
        self.ctx.faults.drop.setdefault(api_key(api), deque()).extend([after_apply] * n)

    def enforce_retention(self, now_ms: int | None = None) -> None:
        """Run a retention pass now, at ``now_ms`` (default: the clock's now), whatever the schedule.

        As Kafka: whole segments whose newest record is more than the topic's ``retention.ms`` old are
        deleted, oldest first, and the log start offset moves past them (see ``PartitionLog.expire``).
        """
        self.store.enforce_retention(now_ms)

    def _retention_if_due(self) -> None:
        """The scheduled retention pass, if ``retention_check_ms`` of the broker's clock went by since the last."""
        if not self.retention_check_ms:
            return
        with self.store.lock:
            now = self.store.clock()
            if now - self._last_retention_ms >= self.retention_check_ms:
                self._last_retention_ms = now
                self.store.enforce_retention(now)

    def _retention_loop(self, interval_ms: int) -> None:
        """Passes with no client asking, for a wall clock; a test's clock is seen at its next request."""
        while not self.stopping.wait(interval_ms / 1000):
            self._retention_if_due()

    def topic_records(self, topic: str, partition: int = 0) -> list[tuple[int, bytes | None, bytes | None]]:
        """(offset, key, value) of every record stored in a partition, for assertions."""
        from kafka_server.records import decode_records

        with self.store.lock:
            log_ = self.store.partition(topic, partition)
            if log_ is None:
                raise KeyError(f"no partition {topic}[{partition}]")
            return [(r.offset, r.key, r.value) for b in log_.batches for r in decode_records(b.data)]

    # ------------------------------------------------------------------------------ serving
    def _accept(self) -> None:
        listener = self._listener
        assert listener is not None
        while not self.stopping.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._connections.add(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        raw = conn
        sasl.reset(self.ctx)
        try:
            if self.ssl_context is not None:  # the handshake in this connection's thread, not the accepting one
                tls = self.ssl_context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
                conn = tls
                with self._lock:  # wrapping detached the plain socket: stop() shuts down the TLS one
                    self._connections.discard(raw)
                    self._connections.add(conn)
                try:
                    tls.do_handshake()
                except (ssl.SSLError, OSError) as exc:
                    self.refusals.append(f"TLS handshake: {exc}")
                    return
            while not self.stopping.is_set():
                head = _recv_exact(conn, 4)
                if head is None:
                    return
                (size,) = struct.unpack(">i", head)
                if not 0 < size <= MAX_FRAME:
                    log.warning("closing a connection that sent a frame of %d bytes", size)
                    return
                frame = _recv_exact(conn, size)
                if frame is None:
                    return  # the client went away mid-request: nothing of it is applied
                if not self._answer(conn, frame):
                    return
        except OSError:
            return
        finally:
            with self._lock:
                self._connections.discard(raw)
                self._connections.discard(conn)
            _shutdown(conn)

    def _answer(self, conn: socket.socket, frame: bytes) -> bool:
        """Handle one request; False closes the connection."""
        try:
            request = parse_request(frame)
            drop = self.ctx.faults.take_drop(request.api_key)
            if drop is False:
                return False
            stall = self.ctx.faults.take_stall(request.api_key)
            if stall and self.stopping.wait(stall):
                return False
            if not sasl.allowed(self.ctx, request.api_key):  # as Kafka: closed, nothing answered
                self.refusals.append(f"{SERVED[request.api_key].name} before SASL authentication")
                return False
            self.requests.append((request.api_key, request.version))
            self._retention_if_due()
            self.ctx.current.client_id = request.client_id
            payload = handle(self.ctx, request)
        except ProtocolError as exc:
            log.warning("closing a connection: %s", exc)
            return False
        except Exception:
            log.exception("the test broker failed on a request; closing the connection")
            return False
        if drop or self.stopping.is_set():
            return False
        if payload is not None:
            conn.sendall(struct.pack(">i", len(payload)) + payload)
        if sasl.state(self.ctx).failed:  # answered, then closed after Kafka's connection.failed.authentication.delay.ms
            self.refusals.append("SASL authentication failed")
            self.stopping.wait(0.1)
            return False
        return True


def _recv_exact(conn: socket.socket, n: int) -> bytes | None:
    chunks = []
    while n:
        chunk = conn.recv(min(n, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
