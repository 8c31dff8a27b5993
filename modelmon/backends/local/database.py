"""The local store's SQLite file: one connection per process, short transactions, retried locks.

Every write runs as a function inside ``BEGIN IMMEDIATE … COMMIT``: it either commits whole or leaves
nothing behind, so a process killed at any instant cannot leave half a batch. ``database is locked``
is retried with backoff for ``timeout_s`` and then becomes ``BackendUnavailable``. SQLite errors
never escape: a damaged or foreign file becomes ``CorruptStore`` naming the file.
"""

from __future__ import annotations

import logging
import os
import pathlib
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Literal, TypeVar

from modelmon.backends.local.schema import META_TABLE, MIGRATIONS, SCHEMA_VERSION, STATEMENTS
from modelmon.core.errors import BackendError, BackendUnavailable, CorruptStore

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Connections inherited through ``fork`` must never be closed by the child (SQLite may then checkpoint
#: or drop the parent's locks); they are parked here instead.
_INHERITED: list[sqlite3.Connection] = []


class _Locked(Exception):
    """Internal: the database was locked; the transaction may be retried."""


class Database:
    """One SQLite store file, safe to share between threads; reconnects after ``fork``."""

    def __init__(self, path: pathlib.Path, *, timeout_s: float = 30.0) -> None:
        self.path = pathlib.Path(path)
        self.timeout_s = timeout_s
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._closed = False
        self._connection()  # validate the file now: a foreign or damaged file fails at open

    # ------------------------------------------------------------------------------ transactions
    def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(conn)`` inside one write transaction, retried whole while the database is locked."""
        return self._run(fn, "BEGIN IMMEDIATE")

    def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(conn)`` inside one read transaction: it sees one consistent snapshot."""
        return self._run(fn, "BEGIN")

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None
            self._closed = True

    def _run(self, fn: Callable[[sqlite3.Connection], T], begin: str) -> T:
        deadline = time.monotonic() + self.timeout_s
        delay = 0.005
        while True:
            try:
                with self._lock:
                    return self._transaction(fn, begin)
            except _Locked as exc:
                if time.monotonic() >= deadline:
                    raise BackendUnavailable(
                        f"{self.path}: database stayed locked for {self.timeout_s:g}s ({exc.__cause__})"
                    ) from exc.__cause__
                time.sleep(delay)
                delay = min(delay * 2, 0.2)

    def _transaction(self, fn: Callable[[sqlite3.Connection], T], begin: str) -> T:
        conn = self._connection()
        with self._translated():
            conn.execute(begin)
            try:
                result = fn(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        return result

    def _translated(self) -> _ErrorTranslation:
        return _ErrorTranslation(self.path)

    # ------------------------------------------------------------------------------ connection
    def _connection(self) -> sqlite3.Connection:
        with self._lock:
            if self._closed:
                raise BackendError(f"{self.path}: the local backend was closed")
            if self._conn is not None and self._pid == os.getpid():
                return self._conn
            if self._conn is not None:
                _INHERITED.append(self._conn)
            self._conn = None
            deadline = time.monotonic() + self.timeout_s
            while True:
                try:
                    self._conn = self._open()
                    break
                except _Locked as exc:
                    if time.monotonic() >= deadline:
                        raise BackendUnavailable(f"{self.path}: database stayed locked while opening") from exc
                    time.sleep(0.05)
            self._pid = os.getpid()
            return self._conn

    def _open(self) -> sqlite3.Connection:
        if self.path.exists() and not self.path.is_file():
            raise CorruptStore(f"{self.path}: not a file, cannot hold a modelmon store")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # SQLite's own busy wait stays short so that ``_run``'s retry loop decides when to give up
        busy_s = min(self.timeout_s, 1.0)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=busy_s)
        try:
            with _ErrorTranslation(self.path):
                _check_store(conn, self.path)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA wal_autocheckpoint=10000")  # checkpoint every ~40 MB of WAL, not every 4 MB
                conn.execute("PRAGMA journal_size_limit=67108864")
                conn.execute("PRAGMA synchronous=NORMAL")  # consistent after a kill; durable except on power loss
                conn.execute("PRAGMA cache_size=-32768")
                conn.execute("PRAGMA temp_store=MEMORY")
                _create_schema(conn, self.path)
        except BaseException:
            conn.close()
            raise
        return conn


def _check_store(conn: sqlite3.Connection, path: pathlib.Path) -> int | None:
    """Refuse a file that is not a modelmon store, or one of a version this modelmon cannot read or migrate,
    before writing anything to it; the file's version (``None``: a new file)."""
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if names and META_TABLE not in names:
        raise CorruptStore(f"{path}: an SQLite database that is not a modelmon store (no {META_TABLE} table)")
    if META_TABLE not in names:
        return None
    row = conn.execute(f"SELECT value FROM {META_TABLE} WHERE key='schema_version'").fetchone()
    found = None if row is None else row[0]
    if found != str(SCHEMA_VERSION) and not (found is not None and found.isdigit() and int(found) in MIGRATIONS):
        raise CorruptStore(
            f"{path}: modelmon store schema version {found or 'none'}, this modelmon reads version "
            f"{SCHEMA_VERSION} (and migrates {', '.join(map(str, sorted(MIGRATIONS)))})"
        )
    return int(str(found))


def _create_schema(conn: sqlite3.Connection, path: pathlib.Path) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _check_store(conn, path)  # another process may have created or migrated it meanwhile
        for statement in STATEMENTS:
            conn.execute(statement)
        conn.execute(
            f"INSERT OR IGNORE INTO {META_TABLE} (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )
        while version is not None and version < SCHEMA_VERSION:
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            version += 1
            conn.execute(f"UPDATE {META_TABLE} SET value = ? WHERE key = 'schema_version'", (str(version),))
            log.info("%s: modelmon store migrated to schema version %d", path, version)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


class _ErrorTranslation:
    """Maps ``sqlite3`` errors to modelmon's: locked → retry, damaged → ``CorruptStore``."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = path

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> Literal[False]:
        if exc is None or not isinstance(exc, sqlite3.Error):
            return False
        message = str(exc)
        if isinstance(exc, sqlite3.OperationalError) and ("locked" in message or "busy" in message):
            raise _Locked(message) from exc
        if isinstance(exc, sqlite3.OperationalError) and "disk I/O" in message:
            raise BackendUnavailable(f"{self.path}: {message}") from exc
        logic_error = isinstance(exc, sqlite3.OperationalError | sqlite3.IntegrityError | sqlite3.ProgrammingError)
        if isinstance(exc, sqlite3.DatabaseError) and not logic_error:
            raise CorruptStore(f"{self.path}: damaged or not a modelmon store ({message})") from exc
        raise BackendError(f"{self.path}: {message}") from exc
