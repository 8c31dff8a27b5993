"""The whole pipeline on the ``postgres`` backend: every function keeps KV and TSDB in a real PostgreSQL
(``tests/postgres_server.py``), streams, samples and objects in the session's folder (Kafka streams are
issue 18's next step).

The same seeded demo traffic as ``test_pipeline_v3io.py``, with malformed events and the writer and an app
SIGKILLed mid-run, must store exactly what the local run stores (same windows, result names, kinds,
statuses, values within float tolerance, same endpoint records): nothing lost, nothing twice. A second run
restarts PostgreSQL several times while the functions work: every cut connection is an outage the
functions retry, and the results are still the same.
"""

from __future__ import annotations

import sqlite3
import threading

import psycopg
import pytest
from pipeline_checks import (
    WINDOWS,
    assert_every_window_has_exactly_the_expected_results,
    assert_malformed_dead_lettered,
    assert_same_results,
    assert_samples_hold_each_request_once,
    comparable_results,
    demo_config,
    drive,
    kill,
    local_reference,
    malformed_records,
    wait_through_faults,
)
from postgres_server import PostgresServer, shared_server

from modelmon.core.config import Settings
from modelmon.demo.session import DemoSession
from modelmon.queries import dead_letters

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The same traffic on the local backend."""
    return local_reference(tmp_path_factory)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """On postgres: half the traffic and the malformed records, kills, the other half, all windows done."""
    with shared_server().schema() as dsn, \
            DemoSession(demo_config(tmp_path_factory, "postgres"),
                        storage=Settings(backend="postgres", postgres_dsn=dsn)) as session:
        malformed = malformed_records(session)
        victims = (session.bundle.functions["writer"], session.bundle.apps[0].function)
        killed, progress = drive(session, WINDOWS, lambda s: {f: kill(s, f) for f in victims},
                                 [record for _, record in malformed], timeout_s=60)
        yield session, dsn, malformed, killed, progress


def test_kv_and_tsdb_live_in_postgres(run):
    session, dsn, _, _, _ = run
    assert session.backend.name == "postgres"
    with psycopg.connect(dsn) as conn:
        kv_tables = {row[0] for row in conn.execute("SELECT DISTINCT tbl FROM modelmon_kv")}
        tsdb = conn.execute("SELECT name, id FROM modelmon_tsdb_tables WHERE labels IS NOT NULL").fetchall()
        rows = {name: conn.execute(f"SELECT count(*) FROM modelmon_tsdb_{id_}").fetchone()[0] for name, id_ in tsdb}
    assert any("endpoints" in table for table in kv_tables) and len(kv_tables) >= 3
    assert rows and all(count > 0 for count in rows.values()), rows
    assert not (session.config.home / "modelmon.db").exists() or _local_kv_rows(session) == 0


def _local_kv_rows(session) -> int:
    with sqlite3.connect(session.config.home / "modelmon.db") as conn:
        return conn.execute("SELECT count(*) FROM kv").fetchone()[0]


def test_killed_functions_were_restarted(run):
    session, _, _, killed, _ = run
    status = session.runtime.status()
    for function, pid in killed.items():
        assert status[function].restarts >= 1 and status[function].pid != pid and status[function].alive


def test_every_closed_window_has_exactly_the_expected_results(run):
    session, _, _, _, progress = run
    assert_every_window_has_exactly_the_expected_results(session, progress)


def test_same_results_as_on_the_local_backend(run, reference):
    session, _, _, _, _ = run
    assert_same_results(comparable_results(session), reference)


def test_samples_hold_each_request_once(run):
    session, _, _, _, _ = run
    assert_samples_hold_each_request_once(session)


def test_malformed_events_are_dead_lettered_with_reasons(run):
    session, _, malformed, _, _ = run
    assert_malformed_dead_lettered(session, malformed)


# ---------------------------------------------------------------------------- PostgreSQL restarts


@pytest.fixture(scope="module")
def restarted_run(tmp_path_factory):
    """On postgres, restarted (every connection cut) every ~0.3 s from the first record sent until every
    window is analysed or 6 restarts were made."""
    server = PostgresServer()  # its own: the restarts must not cut other tests' connections
    try:
        with server.schema() as dsn, \
                DemoSession(demo_config(tmp_path_factory, "restarts"),
                            storage=Settings(backend="postgres", postgres_dsn=dsn)) as session:
            stop, restarts = threading.Event(), []

            def restart() -> None:
                while len(restarts) < 6 and not stop.wait(0.3):
                    server.restart()
                    restarts.append(1)

            restarter = threading.Thread(target=restart, name="postgres-restarts", daemon=True)
            restarter.start()
            try:
                session.send_traffic()
                progress = wait_through_faults(session, timeout_s=90)
            finally:
                stop.set()
                restarter.join()
            yield session, len(restarts), progress
    finally:
        server.stop()


def test_restarts_lose_and_duplicate_nothing(restarted_run, reference):
    session, restarts, progress = restarted_run
    assert restarts >= 2
    log = (session.config.home / "functions.log").read_text()
    assert "backend unavailable; retrying" in log and "BackendUnavailable: postgresql://" in log  # outages were hit
    assert_every_window_has_exactly_the_expected_results(session, progress)
    assert_samples_hold_each_request_once(session)
    assert_same_results(comparable_results(session), reference)
    assert dead_letters(session.backend, session.config.project).empty  # no record given up on
