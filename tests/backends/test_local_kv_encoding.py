"""The local KV's JSON text: written by orjson (by ``json`` where orjson refuses), read back exactly, and the
text older versions wrote (``json.dumps``, nested values) still read the same."""

from __future__ import annotations

import json
import sqlite3

import numpy as np

from modelmon.backends.base import Cond, Update
from modelmon.backends.local import open_local_backend
from modelmon.backends.local.backend import DB_FILE


def _stored(tmp_path, key):
    with sqlite3.connect(tmp_path / DB_FILE) as conn:
        return conn.execute("SELECT item FROM kv WHERE tbl = 't' AND key = ?", (key,)).fetchone()[0]


def test_items_orjson_refuses_are_written_by_json_and_read_back(tmp_path):
    backend = open_local_backend(tmp_path)
    items = {
        "surrogate": {"s": "a\ud800b", "n": 1},
        "huge": {"n": 2**64, "m": -(2**63) - 1},
        "u64": {"n": 2**64 - 1, "m": -(2**63)},
        "large float": {"f": 1e300, "g": -2.0**64, "h": 9.3e18},
        "numpy": {"i": np.int64(7), "f": np.float32(0.5), "b": np.bool_(True)},
    }
    for key, item in items.items():
        backend.kv.put("t", key, item)
    backend.kv.update_many("t", [Update(key, {"x": None}, (Cond.exists(next(iter(item))),))
                                 for key, item in items.items()])
    for key, item in items.items():
        got = backend.kv.get("t", key)
        assert got == {**{k: v.item() if isinstance(v, np.generic) else v for k, v in item.items()}, "x": None}
        assert [type(v) for v in got.values()] == [type(v.item() if isinstance(v, np.generic) else v)
                                                   for v in item.values()] + [type(None)]
        assert json.loads(_stored(tmp_path, key)) == got  # readable by json too
    backend.close()


def test_text_an_older_version_wrote_reads_the_same(tmp_path):
    """``json.dumps`` text (spaces, escaped non-ASCII), and nested values with integers beyond 64 bits."""
    backend = open_local_backend(tmp_path)
    older = {"plain": {"name": "é", "n": 12, "f": 1e-07, "none": None, "flag": False},
             "nested": {"ids": [2**70, 1], "deep": {"n": -(2**66)}}}
    with sqlite3.connect(tmp_path / DB_FILE) as conn:
        for key, item in older.items():
            conn.execute("INSERT INTO kv (tbl, key, item) VALUES ('t', ?, ?)", (key, json.dumps(item)))
    for key, item in older.items():
        got = backend.kv.get("t", key)
        assert got == item and json.dumps(got) == json.dumps(item)
    assert sorted(backend.kv.update_many("t", [Update("plain", {"n": 13}, (Cond.eq("n", 12),)),
                                               Update("nested", {"n": 1})])) == [True, True]
    assert backend.kv.get("t", "nested") == {**older["nested"], "n": 1}
    assert type(backend.kv.get("t", "nested")["ids"][0]) is int
    backend.close()
