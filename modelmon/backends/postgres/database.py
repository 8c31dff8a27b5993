"""A pool of PostgreSQL connections for one DSN: short transactions, retried conflicts, translated errors.

Every call runs a function inside one transaction on a pooled connection (autocommit outside it). A
serialization failure or deadlock is retried whole until ``timeout_s``; an unreachable server or an
exhausted pool becomes ``BackendUnavailable``; any other driver error becomes ``BackendError`` (the
DSN's password never appears in a message). The pool is per process: a forked child opens its own.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import psycopg
import psycopg.errors
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

from modelmon.backends.postgres.schema import META_TABLE, SCHEMA_LOCK, SCHEMA_VERSION, STATEMENTS
from modelmon.core.errors import BackendError, BackendUnavailable, ConfigError, CorruptStore

T = TypeVar("T")
Connection = psycopg.Connection[tuple[object, ...]]

#: Connections one process keeps open at most; functions run a handler at a time, the CLI a few threads.
POOL_SIZE = 4
_RETRIED = (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected)


def describe(dsn: str) -> str:
    """``dsn`` without its password, for messages: ``host:port/dbname``."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise ConfigError(f"PostgreSQL DSN cannot be parsed: {exc}") from None
    host = str(parts.get("host") or parts.get("hostaddr") or "localhost")
    return f"postgresql://{host}:{parts.get('port') or 5432}/{parts.get('dbname') or ''}"


class Database:
    """One PostgreSQL database (and schema, by the DSN's ``search_path``), safe to share between threads."""

    def __init__(self, dsn: str, *, timeout_s: float = 30.0, pool_size: int = POOL_SIZE) -> None:
        self.dsn = dsn
        self.where = describe(dsn)
        self.timeout_s = timeout_s
        self.pool_size = pool_size
        self._lock = threading.Lock()
        self._pool: ConnectionPool[Connection] | None = None
        self._pid = 0
        self._closed = False
        self.timescale = self._open_schema()

    def _open_schema(self) -> bool:
        """Create or check the tables on a connection of its own, before any pool exists: an unreachable
        server fails the open at once (the pool would retry in the background until ``timeout_s``)."""
        dsn = self.dsn
        if "connect_timeout" not in conninfo_to_dict(dsn):
            dsn = make_conninfo(dsn, connect_timeout=max(1, round(self.timeout_s)))
        try:
            with psycopg.connect(dsn, autocommit=True) as conn, conn.transaction():
                return _create_schema(conn)
        except psycopg.OperationalError as exc:
            raise BackendUnavailable(f"{self.where}: {_first_line(exc)}") from exc

    def run(self, fn: Callable[[Connection], T], *, transaction: bool = True) -> T:
        """``fn(conn)`` inside one transaction, retried whole after a serialization failure or deadlock.

        ``transaction=False`` for a function that sends one statement: PostgreSQL runs it atomically on its
        own, and the ``BEGIN``/``COMMIT`` round trips are saved."""
        deadline = time.monotonic() + self.timeout_s
        delay = 0.005
        while True:
            try:
                with self._connection_pool().connection(timeout=self.timeout_s) as conn:
                    if not transaction:
                        return fn(conn)
                    with conn.transaction():
                        return fn(conn)
            except _RETRIED as exc:
                if time.monotonic() >= deadline:
                    raise BackendUnavailable(f"{self.where}: transaction kept conflicting: {exc}") from exc
                time.sleep(delay)
                delay = min(delay * 2, 0.2)
            except PoolTimeout as exc:
                raise BackendUnavailable(f"{self.where}: no connection within {self.timeout_s:g}s ({exc})") from exc
            except psycopg.OperationalError as exc:
                raise BackendUnavailable(f"{self.where}: {_first_line(exc)}") from exc
            except psycopg.errors.InsufficientPrivilege as exc:
                raise BackendError(f"{self.where}: {_first_line(exc)}") from exc
            except psycopg.Error as exc:
                if exc.sqlstate is None:  # a client-side failure (connection lost mid-call)
                    raise BackendUnavailable(f"{self.where}: {_first_line(exc)}") from exc
                raise

    def close(self) -> None:
        with self._lock:
            if self._pool is not None and self._pid == os.getpid():
                self._pool.close()
            self._pool = None
            self._closed = True

    def _connection_pool(self) -> ConnectionPool[Connection]:
        with self._lock:
            if self._closed:
                raise BackendError(f"{self.where}: the postgres backend was closed")
            if self._pool is None or self._pid != os.getpid():  # a forked child never uses the parent's pool
                self._pool = ConnectionPool(
                    self.dsn, min_size=1, max_size=self.pool_size, kwargs={"autocommit": True},
                    timeout=self.timeout_s, open=True, name=f"modelmon-{os.getpid()}",
                )
                self._pid = os.getpid()
            return self._pool


def _create_schema(conn: Connection) -> bool:
    """Create or check the tables (under an advisory lock: several processes may start at once); whether
    the TimescaleDB extension is installed in this database."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
    found = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (META_TABLE,)).fetchone()
    if found is not None and found[0]:
        row = conn.execute(f"SELECT value FROM {META_TABLE} WHERE key = 'schema_version'").fetchone()
        if row is None or row[0] != str(SCHEMA_VERSION):
            raise CorruptStore(f"modelmon tables of schema version {row[0] if row else 'none'}; this modelmon "
                               f"reads version {SCHEMA_VERSION}")
    else:
        for statement in STATEMENTS:
            conn.execute(statement)
        conn.execute(f"INSERT INTO {META_TABLE} (key, value) VALUES ('schema_version', %s)", (str(SCHEMA_VERSION),))
    row = conn.execute("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')").fetchone()
    return bool(row and row[0])


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
