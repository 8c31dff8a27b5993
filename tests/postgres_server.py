"""A throwaway PostgreSQL server for the tests: Debian's ``initdb`` in a temp folder, listening on
127.0.0.1 on a free port (and a unix socket in the same folder), stopped and removed afterwards.

PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` user that Debian's
package creates (or ``nobody``) through ``runuser``; the folder is then owned by that user. Each test
gets its own schema (:meth:`PostgresServer.schema`): far faster than a database per test.

``shared_server()`` starts one server per test process on first use and stops it at exit;
``python tests/postgres_server.py`` starts one and prints its DSN until Ctrl-C (for trying things by hand).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pathlib
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator

import psycopg
from per_process import PerProcess

#: Server settings for tests: no durability work (a crash loses the test database anyway).
SERVER_OPTIONS = ("-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 "
                  "-c shared_buffers=64MB")
#: Settings for measuring: durable as the local backend's SQLite (WAL, synchronous=NORMAL) is: a crash keeps
#: the database consistent and may lose the last commits (``synchronous_commit=off``), fsync on.
DURABLE_OPTIONS = "-c synchronous_commit=off -c max_connections=100 -c shared_buffers=128MB"


def postgres_bin() -> pathlib.Path:
    """The newest installed PostgreSQL's bin folder (Debian: ``/usr/lib/postgresql/<version>/bin``)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return pathlib.Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError("PostgreSQL is not installed: `make system-deps` installs Debian's postgresql")
    return pathlib.Path(initdb).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One running server; :attr:`dsn` connects to its ``postgres`` database as superuser (trust auth)."""

    def __init__(self, options: str = SERVER_OPTIONS) -> None:
        self.bin = postgres_bin()
        self.user = None if os.geteuid() != 0 else _service_user()
        self.folder = pathlib.Path(tempfile.mkdtemp(prefix="modelmon-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.dsn = f"host=127.0.0.1 port={self.port} dbname=postgres user=postgres"
        self._started = False
        if self.user is not None:
            os.chown(self.folder, self.user.pw_uid, self.user.pw_gid)
        try:
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                      "--locale=C", "--no-sync")
            options = f"{options} -c listen_addresses=127.0.0.1 -p {self.port} " \
                      f"-c unix_socket_directories={self.folder}"
            self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"), "-o", options,
                      "-w", "-t", "60", "start")
            self._started = True
        except BaseException:
            self.stop()
            raise

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin / program), *args]
        if self.user is not None:
            command = ["runuser", "-u", self.user.pw_name, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self.folder)
        if done.returncode != 0:
            log = self.folder / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr.strip()}\n{tail}")

    @contextlib.contextmanager
    def schema(self) -> Iterator[str]:
        """A fresh schema, dropped afterwards; yields a DSN whose ``search_path`` is that schema."""
        name = f"test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {name}")
        try:
            yield f"{self.dsn} options='-c search_path={name}'"
        finally:
            with psycopg.connect(self.dsn, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {name} CASCADE")

    def restart(self) -> None:
        """A clean restart (``pg_ctl restart -m fast``): every open connection is cut, the data stays."""
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"), "-m", "fast", "-w", "-t", "60",
                  "restart")

    def stop(self) -> None:
        """Stop the server (immediately: its data is thrown away) and remove its folder."""
        if self._started:
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            self._started = False
        shutil.rmtree(self.folder, ignore_errors=True)


def _service_user() -> pwd.struct_passwd:
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("running as root and no 'postgres' or 'nobody' user to run PostgreSQL as")


_shared = PerProcess(PostgresServer)


def shared_server() -> PostgresServer:
    """This process's server, started on first use and stopped when the process exits."""
    return _shared.get()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop the server on `kill` too, not only on Ctrl-C
    server = shared_server()
    print(server.dsn, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
