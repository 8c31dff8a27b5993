"""The postgres backend next to the local one, same run (information, issue 18): result writes/s through the
writer, and KV compare-and-set/s (one per call, and batched with ``update_many``).

PostgreSQL is the one ``tests/postgres_server.py`` starts (Debian's package, 127.0.0.1, a unix socket
unused: the backend connects over TCP as a remote database would be reached) with durability like the
local backend's SQLite in WAL mode with ``synchronous=NORMAL``: consistent after a crash, the last commits
possibly lost (``synchronous_commit=off``, fsync on). Client and server share this machine's cores.

Results: the writer's events as ``bench_writer`` builds them (50 results per window, 20 endpoints, one
app), written 100 events per ``write_many``. Compare-and-set: ``update(key, {v: i+1}, condition v == i)``
over 100 keys, as the controller's claims and the stream function's count-once are.
"""

from __future__ import annotations

import os
import pathlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

from bench.writer_events import writer_events
from modelmon.backends.base import Backend, Cond, Update
from modelmon.backends.local import open_local_backend
from modelmon.core.paths import ProjectPaths
from modelmon.writer import ResultWriter

PROJECT = "bench"
ENDPOINTS, RESULTS_PER_EVENT, EVENTS_PER_ROUND, BATCH = 20, 50, 400, 100
CAS_KEYS, CAS_PER_ROUND, ROUNDS = 100, 2000, 3
TABLE = "bench/cas"


def _result_rates(backend: Backend) -> list[float]:
    """Results per second of each round after a warm-up round (tables created)."""
    writer = ResultWriter(backend, ProjectPaths(PROJECT))
    rates = []
    for round_ in range(ROUNDS + 1):
        events = writer_events(round_, EVENTS_PER_ROUND, endpoints=ENDPOINTS, results=RESULTS_PER_EVENT)
        started = time.perf_counter()
        for first in range(0, len(events), BATCH):
            writer.write_many(events[first:first + BATCH])
        if round_:
            rates.append(len(events) * RESULTS_PER_EVENT / (time.perf_counter() - started))
    return rates


def _cas_rates(backend: Backend, batched: bool) -> list[float]:
    """Compare-and-sets per second, each one winning (the value moves from ``i`` to ``i + 1``)."""
    table = f"{TABLE}-{'many' if batched else 'one'}"
    for key in range(CAS_KEYS):
        backend.kv.put(table, f"k{key}", {"v": 0})
    value, rates = 0, []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(CAS_PER_ROUND // CAS_KEYS):
            if batched:
                done = backend.kv.update_many(table, [Update(f"k{key}", {"v": value + 1}, (Cond.eq("v", value),))
                                                      for key in range(CAS_KEYS)])
            else:
                done = [backend.kv.update(table, f"k{key}", {"v": value + 1}, condition=[Cond.eq("v", value)])
                        for key in range(CAS_KEYS)]
            assert all(done), "a compare-and-set lost with no one racing it"
            value += 1
        rates.append(CAS_PER_ROUND / (time.perf_counter() - started))
    return rates


def _measure(open_backend: Callable[[], Backend]) -> dict[str, list[float]]:
    backend = open_backend()
    try:
        return {"results_s": _result_rates(backend), "cas_s": _cas_rates(backend, batched=False),
                "cas_batched_s": _cas_rates(backend, batched=True)}
    finally:
        backend.close()


def main() -> dict[str, object]:
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests"))
    from postgres_server import DURABLE_OPTIONS, PostgresServer

    from modelmon.backends.postgres import open_postgres_backend

    server = PostgresServer(DURABLE_OPTIONS)
    try:
        with tempfile.TemporaryDirectory() as scratch, server.schema() as dsn:
            local = _measure(lambda: open_local_backend(pathlib.Path(scratch) / "local"))
            postgres = _measure(lambda: open_postgres_backend(dsn, pathlib.Path(scratch) / "postgres"))
    finally:
        server.stop()
    load = os.getloadavg()[0]
    print(f"{RESULTS_PER_EVENT} results per event, {BATCH} events per write_many; compare-and-set over "
          f"{CAS_KEYS} keys; PostgreSQL 15 on 127.0.0.1 (synchronous_commit=off); load average {load:.2f}")
    rows = [("result writes/s (writer, batched)", "results_s"), ("KV compare-and-set/s (one per call)", "cas_s"),
            ("KV compare-and-set/s (update_many of 100)", "cas_batched_s")]
    print(f"{'':<44}{'local':>12}{'postgres':>12}   (median of {ROUNDS} rounds)")
    for label, key in rows:
        print(f"{label:<44}{statistics.median(local[key]):>12,.0f}{statistics.median(postgres[key]):>12,.0f}")
    return {"load_1m": load, **{f"local_{k}": v for k, v in local.items()},
            **{f"postgres_{k}": v for k, v in postgres.items()}}


if __name__ == "__main__":
    main()
