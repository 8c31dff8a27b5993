"""What only the local backend has: its files. Foreign, damaged and locked stores give one clear line."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import threading

import pandas as pd
import pytest

from modelmon.backends.base import Cond, OutRecord, Update
from modelmon.backends.local import open_local_backend
from modelmon.backends.local.backend import DB_FILE
from modelmon.core.errors import BackendUnavailable, CorruptStore


def _one_line_naming(exc: pytest.ExceptionInfo, path) -> str:
    message = str(exc.value)
    assert "\n" not in message and str(path) in message
    return message


def test_home_is_created_with_the_documented_layout(tmp_path):
    home = tmp_path / "a" / "home"
    backend = open_local_backend(home)
    backend.samples.append("ep1", pd.DataFrame({"timestamp": [0], "f": [1.0]}), "b")
    backend.objects.put_object("x/y", b"1")
    backend.close()
    assert (home / DB_FILE).is_file()
    (sample_file,) = (home / "samples").rglob("*.parquet")
    assert sample_file.relative_to(home).as_posix().startswith("samples/ep1/hour=1970010100/")
    assert (home / "objects" / "x" / "y").read_bytes() == b"1"


def test_foreign_sqlite_file_is_refused(tmp_path):
    db = tmp_path / DB_FILE
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.close()
    with pytest.raises(CorruptStore) as exc:
        open_local_backend(tmp_path)
    assert "not a modelmon store" in _one_line_naming(exc, db)
    with sqlite3.connect(db) as conn:  # and it was left untouched
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["customers"]
    conn.close()


def test_a_file_that_is_not_sqlite_is_refused(tmp_path):
    db = tmp_path / DB_FILE
    db.write_bytes(b"this is a text file, not a database\n" * 200)
    with pytest.raises(CorruptStore) as exc:
        open_local_backend(tmp_path)
    assert "not a modelmon store" in _one_line_naming(exc, db)


def test_another_schema_version_is_refused(tmp_path):
    open_local_backend(tmp_path).close()
    with sqlite3.connect(tmp_path / DB_FILE) as conn:
        conn.execute("UPDATE modelmon_meta SET value = '99' WHERE key = 'schema_version'")
    conn.close()
    with pytest.raises(CorruptStore) as exc:
        open_local_backend(tmp_path)
    assert "version 99" in _one_line_naming(exc, tmp_path / DB_FILE)


def test_damaged_pages_are_reported_as_corrupt(tmp_path):
    backend = open_local_backend(tmp_path)
    for i in range(300):
        backend.kv.put("t", f"key-{i:04d}", {"text": "x" * 200})
    backend.close()
    db = tmp_path / DB_FILE
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    raw = bytearray(db.read_bytes())
    raw[8192:] = b"\xa5" * (len(raw) - 8192)  # keep the header and the first pages, trash the rest
    db.write_bytes(bytes(raw))
    with pytest.raises(CorruptStore) as exc:
        damaged = open_local_backend(tmp_path)
        damaged.kv.scan("t", limit=1000)
    _one_line_naming(exc, db)


def test_home_that_is_a_file_is_refused(tmp_path):
    home = tmp_path / "home"
    home.write_text("x")
    with pytest.raises(CorruptStore) as exc:
        open_local_backend(home)
    _one_line_naming(exc, home)


def test_a_lock_held_too_long_becomes_backend_unavailable(tmp_path):
    backend = open_local_backend(tmp_path, timeout_s=0.3)
    holder = sqlite3.connect(tmp_path / DB_FILE, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(BackendUnavailable) as exc:
            backend.kv.put("t", "k", {"a": 1})
        assert "locked" in _one_line_naming(exc, tmp_path / DB_FILE)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    backend.kv.put("t", "k", {"a": 1})  # and works again once the lock is released
    assert backend.kv.get("t", "k") == {"a": 1}
    backend.close()


def test_a_damaged_sample_file_names_the_file(tmp_path):
    backend = open_local_backend(tmp_path)
    backend.samples.append("ep1", pd.DataFrame({"timestamp": [1000], "f": [1.0]}), "b")
    (file,) = (tmp_path / "samples").rglob("*.parquet")
    file.write_bytes(b"garbage")
    with pytest.raises(CorruptStore) as exc:
        backend.samples.read("ep1", 0, 5000)
    _one_line_naming(exc, file)
    backend.close()


def test_a_killed_writers_temp_file_is_ignored(tmp_path):
    backend = open_local_backend(tmp_path)
    backend.samples.append("ep1", pd.DataFrame({"timestamp": [1000], "f": [1.0]}), "b")
    (file,) = (tmp_path / "samples").rglob("*.parquet")
    (file.parent / ".tmp-123-abcd-half.parquet").write_bytes(b"PAR1 half written")
    (file.parent.parent / "hour=notanhour").mkdir()  # and entries of the endpoint's folder that are no hour
    (file.parent.parent / "notes.parquet").write_bytes(b"not samples")
    assert backend.samples.read("ep1", 0, 5000)["f"].tolist() == [1.0]  # an hour's folder listed by name
    assert backend.samples.read("ep1", 0, 10 * 3_600_000)["f"].tolist() == [1.0]  # the endpoint's folder listed
    backend.close()


def _put_from_child(backend) -> None:
    backend.kv.put("t", "child", {"pid": os.getpid()})
    backend.streams.put_records("s", [OutRecord(b"from child", shard=0)])


def test_a_forked_child_reconnects_instead_of_sharing_the_parents_connection(tmp_path):
    backend = open_local_backend(tmp_path)
    backend.streams.create("s")
    backend.kv.put("t", "parent", {"n": 1})
    child = multiprocessing.get_context("fork").Process(target=_put_from_child, args=(backend,))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    backend.streams.put_records("s", [OutRecord(b"from parent", shard=0)])
    assert backend.kv.get("t", "child")["pid"] == child.pid
    assert [r.data for r in backend.streams.read("s", 0, 1)] == [b"from child", b"from parent"]
    backend.close()


def test_one_backend_shared_by_threads_loses_no_update(tmp_path):
    backend = open_local_backend(tmp_path)
    backend.streams.create("s", shards=2)

    def work(n: int) -> None:
        for i in range(100):
            backend.kv.update("t", "counter", increment={"n": 1})
            backend.streams.put_records("s", [OutRecord(b"%d-%d" % (n, i), partition_key=str(n))])

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert backend.kv.get("t", "counter") == {"n": 400}
    records = [r for shard in (0, 1) for r in backend.streams.read("s", shard, 1, limit=1000)]
    assert sorted(r.data for r in records) == sorted(b"%d-%d" % (n, i) for n in range(4) for i in range(100))
    backend.close()


def test_update_many_is_one_transaction_checked_before_it_starts(tmp_path):
    """A bad item anywhere in a batch writes none of it; a good batch is seen whole by another connection."""
    backend = open_local_backend(tmp_path)
    with pytest.raises(TypeError, match=r"'k2'.*'nested'"):
        backend.kv.update_many("t", [Update("k1", {"a": 1}), Update("k2", {"nested": {"x": 1}})])
    assert backend.kv.get("t", "k1") is None
    backend.kv.update_many("t", [Update(f"k{i}", {"a": i}) for i in range(1200)])  # more keys than one read chunk
    with sqlite3.connect(tmp_path / DB_FILE) as other:
        assert other.execute("SELECT COUNT(*) FROM kv WHERE tbl = 't'").fetchone() == (1200,)
    assert backend.kv.update_many("t", [Update(f"k{i}", {"a": -1}, (Cond.eq("a", i),)) for i in range(1200)]) \
        == [True] * 1200
    backend.close()


def test_items_read_back_exactly_whichever_json_reader_decodes_them(tmp_path):
    """Items are read with orjson, except what it would read differently: numbers of 19+ digits (an integer
    beyond 64 bits becomes a float there) and NaN written by older versions."""
    backend = open_local_backend(tmp_path)
    big = {"id": "0" * 40, "huge": 2**70, "negative": -(2**65), "max": 2**63 - 1, "x": 0.1,
           "s": "é: 1234567890123456789012"}
    backend.kv.put("t", "big", big)
    with sqlite3.connect(tmp_path / DB_FILE) as conn:  # as an earlier version could write it
        conn.execute("INSERT INTO kv (tbl, key, item) VALUES ('t', 'nan', '{\"v\": NaN}')")
    got = backend.kv.get("t", "big")
    assert got == big and type(got["huge"]) is int
    assert dict(backend.kv.scan("t")[0])["big"] == big
    assert backend.kv.update_many("t", [Update("big", {"x": 0.2}, (Cond.eq("huge", 2**70),))]) == [True]
    assert backend.kv.get("t", "big")["huge"] == 2**70
    nan = backend.kv.get("t", "nan")["v"]
    assert nan != nan
    backend.close()


def test_a_time_range_of_every_series_is_read_through_the_time_index(tmp_path):
    """One window's results of every endpoint: without an index on time, a read scans the whole history."""
    backend = open_local_backend(tmp_path)
    backend.tsdb.create_table("results")
    frame = pd.DataFrame({"time": [60_000 * k for k in range(1, 6)] * 3,
                          "endpoint_id": ["a"] * 5 + ["b"] * 5 + ["c"] * 5, "v": [float(k) for k in range(15)]})
    backend.tsdb.write("results", frame, ["endpoint_id"])
    assert backend.tsdb.read("results", 120_000, 120_001)["endpoint_id"].tolist() == ["a", "b", "c"]
    with sqlite3.connect(tmp_path / DB_FILE) as conn:
        (table,) = conn.execute("SELECT id FROM tsdb_tables WHERE name = 'results'").fetchone()
        plan = " ".join(row[-1] for row in conn.execute(
            f"EXPLAIN QUERY PLAN SELECT * FROM tsdb_{table} WHERE time >= 120000 AND time < 120001"))
        assert f"USING INDEX tsdb_{table}_time" in plan
        conn.execute(f"DROP INDEX tsdb_{table}_time")  # as a table made by an earlier release
    backend.close()
    later = open_local_backend(tmp_path)  # a process started after the upgrade: its first write makes it
    later.tsdb.write("results", frame.assign(time=frame["time"] + 600_000), ["endpoint_id"])
    later.close()
    with sqlite3.connect(tmp_path / DB_FILE) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert f"tsdb_{table}_time" in names
