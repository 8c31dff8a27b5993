"""What only the postgres backend has: the condition language translated to SQL (checked against the
Python reference over every pair of value types), jsonb number types, its settings, outages, the schema
version, and TSDB writers in several processes. The shared behaviour is the contract suite's."""

from __future__ import annotations

import math
import multiprocessing
import random

import pandas as pd
import psycopg
import pytest
from postgres_server import PostgresServer, shared_server
from postgres_workers import TSDB_TABLE, write_series

from modelmon.backends import make_backend
from modelmon.backends.base import Cond, Op, Update, scan_all
from modelmon.backends.conditions import matches
from modelmon.backends.local import open_local_backend
from modelmon.backends.postgres import open_postgres_backend
from modelmon.core.config import Settings
from modelmon.core.errors import BackendUnavailable, ConfigError, CorruptStore

TABLE = "projects/p/schedules"
SPAWN = multiprocessing.get_context("spawn")

#: Stored values of every type an item holds, and the awkward ones of each.
STORED = [None, True, False, 0, 1, -3, 2.5, 2.0, 10**20, 1e20, 1e-5, "", "a", "b", "é", "10", "Z"]
COMPARED = [None, True, False, 0, 1, 2.5, 2, 10**20, 1e20, 1e-5, -math.inf, math.nan, "", "a", "é", "10", "A"]


@pytest.fixture
def dsn():
    with shared_server().schema() as dsn:
        yield dsn


@pytest.fixture
def backend(dsn, tmp_path):
    backend = open_postgres_backend(dsn, tmp_path / "home")
    yield backend
    backend.close()


def test_sql_conditions_select_what_the_python_reference_selects(backend):
    """Every operator and value against every stored type (and a missing attribute), as a scan filter."""
    items = {f"k{i:02d}": {"v": value} for i, value in enumerate(STORED)}
    items["missing"] = {"other": 1}
    for key, item in items.items():
        backend.kv.put(TABLE, key, item)
    checked = 0
    for op in (Op.EQ, Op.NE, Op.LT, Op.LE, Op.GT, Op.GE):
        for value in COMPARED:
            cond = (Cond("v", op, value),)
            want = [key for key, item in sorted(items.items()) if matches(item, cond)]
            got = [key for key, _ in scan_all(backend.kv, TABLE, condition=cond)]
            assert got == want, (op, value)
            checked += 1
    for cond in (Cond.exists("v"), Cond.not_exists("v")):
        assert [k for k, _ in scan_all(backend.kv, TABLE, condition=[cond])] == \
               [k for k, item in sorted(items.items()) if matches(item, (cond,))]
    assert checked == 6 * len(COMPARED)


def test_conditional_updates_agree_with_the_reference_on_missing_items(backend):
    """``create`` with a condition a missing item satisfies (only ``not_exists``) creates it; others do not."""
    assert backend.kv.update(TABLE, "a", {"x": 1}, condition=[Cond.not_exists("x"), Cond.not_exists("y")])
    assert not backend.kv.update(TABLE, "b", {"x": 1}, condition=[Cond("x", Op.NE, 5)])
    assert not backend.kv.update(TABLE, "c", {"x": 1}, condition=[Cond.not_exists("x")], create=False)
    assert [k for k, _ in backend.kv.scan(TABLE)[0]] == ["a"]


@pytest.mark.parametrize("seed", [1, 2])
def test_large_update_batches_give_what_the_local_backend_gives(backend, tmp_path, seed):
    """Batches big enough to go as set-based statements (per round of distinct keys and per shape), with
    repeated keys, creates, conditions that hold or not, against the local backend as the reference."""
    rng = random.Random(seed)
    local = open_local_backend(tmp_path / "local")
    try:
        keys = [f"k{i:03d}" for i in range(60)]
        for key in keys[:40]:
            item = {"end_ms": rng.randrange(0, 500, 100), "v": "old"}
            backend.kv.put(TABLE, key, item)
            local.kv.put(TABLE, key, item)
        for _ in range(3):
            updates = []
            for _ in range(300):
                key, end = rng.choice(keys), rng.randrange(0, 600, 100)
                kind = rng.randrange(4)
                if kind == 0:  # the writer's "replace if newer", never creating
                    updates.append(Update(key, {"end_ms": end, "v": f"n{end}"}, (Cond("end_ms", Op.LT, end),),
                                          create=False))
                elif kind == 1:  # create once
                    updates.append(Update(key, {"end_ms": end, "v": "created"}, (Cond.not_exists("end_ms"),)))
                elif kind == 2:  # unconditional merge
                    updates.append(Update(key, {"seen": rng.random() < 0.5, "n": end}))
                else:  # a compare-and-set on text
                    updates.append(Update(key, {"v": "cas"}, (Cond.eq("v", f"n{end}"),), create=False))
            assert backend.kv.update_many(TABLE, updates) == local.kv.update_many(TABLE, updates)
        assert list(scan_all(backend.kv, TABLE)) == list(scan_all(local.kv, TABLE))
    finally:
        local.close()


def test_numbers_keep_their_python_type_through_jsonb(backend):
    kv = backend.kv
    values = {"big_int": 2**70, "big_float": 1e20, "tiny": 1e-5, "whole": 2.0, "neg": -0.5, "third": 1 / 3}
    kv.put(TABLE, "k", values)
    got = kv.get(TABLE, "k")
    assert got == values
    assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in values.items()}
    kv.update(TABLE, "k", increment={"big_int": 1, "whole": 1, "neg": 1, "fresh": 3, "mixed": 0.5})
    kv.update(TABLE, "k", increment={"mixed": 1})
    got = kv.get(TABLE, "k")
    assert (got["big_int"], got["whole"], got["neg"], got["fresh"], got["mixed"]) == (2**70 + 1, 3.0, 0.5, 3, 1.5)
    assert [type(got[a]) for a in ("big_int", "whole", "neg", "fresh", "mixed")] == [int, float, float, int, float]


def test_text_with_nul_is_refused_naming_the_attribute(backend):
    with pytest.raises(ValueError, match=r"'note'.*NUL"):
        backend.kv.put(TABLE, "k", {"note": "a\0b"})


def test_a_refused_increment_changes_nothing_and_the_pool_stays_usable(backend):
    backend.kv.put(TABLE, "text", {"n": "x"})
    backend.kv.put(TABLE, "num", {"n": 1})
    with pytest.raises(ValueError, match="cannot increment"):
        backend.kv.update(TABLE, "text", increment={"n": 1})
    assert backend.kv.get(TABLE, "text") == {"n": "x"}
    assert backend.kv.update_many(TABLE, [Update("num", {"n": 2}), Update("new", {"n": 1})]) == [True, True]
    assert backend.kv.get(TABLE, "num") == {"n": 2}


def test_settings_select_the_backend_and_keep_the_password_out_of_the_env(dsn, tmp_path):
    with pytest.raises(ConfigError, match="MODELMON_POSTGRES_DSN"):
        Settings.from_env({"MODELMON_BACKEND": "postgres"})
    settings = Settings.from_env({"MODELMON_BACKEND": "postgres", "MODELMON_POSTGRES_DSN": dsn,
                                  "MODELMON_HOME": str(tmp_path / "home")})
    backend = make_backend(settings)
    try:
        assert backend.name == "postgres"
        backend.kv.put(TABLE, "k", {"a": 1})
        assert backend.kv.get(TABLE, "k") == {"a": 1}
    finally:
        backend.close()
    assert Settings.from_env(settings.to_env()).postgres_dsn == dsn  # no password: passed on as it is
    secret = Settings(backend="postgres", postgres_dsn="host=db user=m password=hunter2")
    assert "hunter2" not in repr(secret) and "hunter2" not in str(secret.to_env())
    url = Settings(backend="postgres", postgres_dsn="postgresql://m:hunter2@db:5432/mm")
    assert "hunter2" not in str(url.to_env())


def test_an_unreachable_server_is_backend_unavailable_without_the_password(tmp_path):
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dsn = f"host=127.0.0.1 port={port} dbname=mm user=m password=hunter2 connect_timeout=1"
    with pytest.raises(BackendUnavailable, match=f"127.0.0.1:{port}/mm") as caught:
        open_postgres_backend(dsn, tmp_path / "home", timeout_s=1)
    assert "hunter2" not in str(caught.value)


def test_a_server_restart_cuts_connections_and_the_backend_reconnects(tmp_path):
    """Connections cut by a restart fail their next call with ``BackendUnavailable`` (the caller retries, as
    on any outage); the pool then opens new ones and nothing written before is lost."""
    server = PostgresServer()  # its own: the restart must not cut other tests' connections
    try:
        with server.schema() as dsn:
            backend = open_postgres_backend(dsn, tmp_path / "home")
            backend.kv.put(TABLE, "k", {"n": 1})
            server.restart()
            failures = 0
            for _ in range(10):
                try:
                    assert backend.kv.update(TABLE, "k", increment={"n": 1}, condition=[Cond.eq("n", 1)])
                    break
                except BackendUnavailable:
                    failures += 1
            assert backend.kv.get(TABLE, "k") == {"n": 2}
            assert failures <= 4  # at most the pool's connections, each failing once
            backend.close()
    finally:
        server.stop()


def test_a_schema_of_another_version_is_refused(dsn, backend, tmp_path):
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("UPDATE modelmon_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(CorruptStore, match="schema version 99"):
        open_postgres_backend(dsn, tmp_path / "other")


def test_one_write_is_one_insert_and_the_series_index_serves_latest_lookups(dsn, backend):
    backend.tsdb.create_table(TSDB_TABLE)
    frame = pd.DataFrame({"time": pd.Series(range(0, 5000, 10), dtype="int64"), "endpoint_id": "e", "v": 1.0,
                          "missing": math.nan})
    backend.tsdb.write(TSDB_TABLE, frame, ["endpoint_id"])
    got = backend.tsdb.read(TSDB_TABLE, 0, 10_000, aggregators=["count", "sum", "last"], columns=["v", "missing"])
    assert got[["count(v)", "sum(v)", "last(v)", "count(missing)", "sum(missing)"]].values.tolist() == \
           [[500, 500.0, 1.0, 0, 0.0]]
    assert math.isnan(got["last(missing)"].iloc[0])  # as pandas: NaN is missing, its sum 0
    assert _indexes(dsn) == ['btree ("time")', 'btree (endpoint_id, "time")']  # a time range; a series


def _indexes(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        (name,) = conn.execute("SELECT id FROM modelmon_tsdb_tables WHERE name = %s", (TSDB_TABLE,)).fetchone()
        indexes = conn.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s",
                               (f"modelmon_tsdb_{name}",)).fetchall()
    return sorted(row[0].split(" USING ")[1] for row in indexes)


def test_a_table_made_without_a_time_index_gets_one_at_its_next_write(dsn, backend, tmp_path):
    backend.tsdb.create_table(TSDB_TABLE)
    frame = pd.DataFrame({"time": pd.Series([0, 10], dtype="int64"), "endpoint_id": "e", "v": 1.0})
    backend.tsdb.write(TSDB_TABLE, frame, ["endpoint_id"])
    with psycopg.connect(dsn) as conn:
        (name,) = conn.execute("SELECT id FROM modelmon_tsdb_tables WHERE name = %s", (TSDB_TABLE,)).fetchone()
        conn.execute(f"DROP INDEX modelmon_tsdb_{name}_time")  # as a table made by an earlier release
    assert _indexes(dsn) == ['btree (endpoint_id, "time")']
    later = open_postgres_backend(dsn, tmp_path / "home")  # a process started after the upgrade
    later.tsdb.write(TSDB_TABLE, frame.assign(time=frame["time"] + 100), ["endpoint_id"])
    later.close()
    assert _indexes(dsn) == ['btree ("time")', 'btree (endpoint_id, "time")']
    assert backend.tsdb.read(TSDB_TABLE, 0, 1000)["time"].tolist() == [0, 10, 100, 110]


@pytest.mark.slow
def test_tsdb_writers_in_several_processes_lose_no_rows(dsn, tmp_path):
    backend = open_postgres_backend(dsn, tmp_path / "home")
    backend.tsdb.create_table(TSDB_TABLE)
    barrier = SPAWN.Barrier(3)
    procs = [SPAWN.Process(target=write_series, args=(dsn, str(tmp_path / "home"), endpoint, 30, 40, barrier))
             for endpoint in ("ep-a", "ep-b", "ep-a")]  # two writers of one series: each point kept once
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
        assert proc.exitcode == 0
    got = backend.tsdb.read(TSDB_TABLE, 0, 10**9)
    assert got.groupby("endpoint_id").size().to_dict() == {"ep-a": 1200, "ep-b": 1200}
    assert not got.duplicated(["endpoint_id", "time"]).any()
    backend.close()
