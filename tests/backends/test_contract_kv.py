"""KV contract: put/get/delete, conditional updates (compare-and-set), increments, scan pagination."""

from __future__ import annotations

import json

import pytest

from modelmon.backends.base import Cond, Op, Update, get_many, scan_all

TABLE = "users/pipelines/p/monitoring-schedules/last-analyzed"


def test_put_replaces_the_whole_item_and_keeps_value_types(backend):
    kv = backend.kv
    kv.put(TABLE, "k", {"a": 1, "b": "x"})
    kv.put(TABLE, "k", {"s": "text", "i": 7, "f": 1.5, "t": True, "n": None, "whole": 2.0})
    item = kv.get(TABLE, "k")
    assert item == {"s": "text", "i": 7, "f": 1.5, "t": True, "n": None, "whole": 2.0}
    assert [type(item[a]) for a in ("s", "i", "f", "t", "whole")] == [str, int, float, bool, float]
    assert kv.get(TABLE, "other") is None


def test_delete_removes_and_tolerates_missing(backend):
    backend.kv.put(TABLE, "k", {"a": 1})
    backend.kv.delete(TABLE, "k")
    backend.kv.delete(TABLE, "k")
    assert backend.kv.get(TABLE, "k") is None


def test_get_many_gives_each_existing_item_as_get_does(backend):
    kv = backend.kv
    keys = [f"k{i:04d}" for i in range(1200)]  # beyond one chunk of SQLite's parameters
    for i, key in enumerate(keys[::2]):
        kv.put(TABLE, key, {"i": i, "big": 2**70, "s": "é"})
    kv.put("other table", "k0001", {"a": 1})
    found = get_many(kv, TABLE, [*keys, "k0000"])  # a key asked twice is one item
    assert found == {key: kv.get(TABLE, key) for key in keys[::2]}
    assert "k0001" not in found and get_many(kv, TABLE, []) == {}


def test_tables_are_separate(backend):
    backend.kv.put("t1", "k", {"a": 1})
    backend.kv.put("t2", "k", {"a": 2})
    assert backend.kv.get("t1", "k") == {"a": 1}
    assert backend.kv.scan("t2") == ([("k", {"a": 2})], None)


def test_update_sets_and_increments_creating_the_item(backend):
    kv = backend.kv
    assert kv.update(TABLE, "k", {"name": "ep"}, increment={"count": 3, "latency": 0.5}) is True
    assert kv.update(TABLE, "k", increment={"count": 2, "latency": 0.25}) is True
    assert kv.get(TABLE, "k") == {"name": "ep", "count": 5, "latency": 0.75}
    assert kv.update(TABLE, "absent", {"a": 1}, create=False) is False
    assert kv.get(TABLE, "absent") is None


def test_compare_and_set(backend):
    kv = backend.kv
    assert kv.update(TABLE, "e.app", {"last_analyzed_ms": 100}, condition=[Cond.not_exists("last_analyzed_ms")])
    assert not kv.update(TABLE, "e.app", {"last_analyzed_ms": 999}, condition=[Cond.not_exists("last_analyzed_ms")])
    assert not kv.update(TABLE, "e.app", {"last_analyzed_ms": 300}, condition=[Cond.eq("last_analyzed_ms", 200)])
    assert kv.update(TABLE, "e.app", {"last_analyzed_ms": 200}, condition=[Cond.eq("last_analyzed_ms", 100)])
    assert kv.get(TABLE, "e.app") == {"last_analyzed_ms": 200}


@pytest.mark.parametrize(
    ("cond", "holds"),
    [
        (Cond("end_ms", Op.GE, 10), True),
        (Cond("end_ms", Op.GT, 10), False),
        (Cond("end_ms", Op.LT, 11), True),
        (Cond("end_ms", Op.LE, 9), False),
        (Cond("end_ms", Op.NE, 10), False),
        (Cond("status", Op.EQ, "ok"), True),
        (Cond.exists("status"), True),
        (Cond.exists("missing"), False),
        (Cond("missing", Op.EQ, None), False),
        (Cond("status", Op.GT, 3), False),  # text against a number: false, not an error
    ],
)
def test_condition_operators(backend, cond, holds):
    backend.kv.put(TABLE, "k", {"end_ms": 10, "status": "ok"})
    assert backend.kv.update(TABLE, "k", {"touched": True}, condition=[cond]) is holds
    assert ("touched" in backend.kv.get(TABLE, "k")) is holds


def test_all_comparisons_of_a_condition_are_required(backend):
    backend.kv.put(TABLE, "k", {"a": 1, "b": 2})
    assert not backend.kv.update(TABLE, "k", {"c": 3}, condition=[Cond.eq("a", 1), Cond.eq("b", 3)])
    assert backend.kv.update(TABLE, "k", {"c": 3}, condition=[Cond.eq("a", 1), Cond.eq("b", 2)])


def test_scan_pages_in_key_order_with_a_marker(backend):
    kv = backend.kv
    for i in range(25):
        kv.put(TABLE, f"key-{i:03d}", {"i": i, "even": i % 2 == 0})
    pages, marker = [], None
    while True:
        page, marker = kv.scan(TABLE, limit=10, marker=marker)
        pages.append([k for k, _ in page])
        if marker is None:
            break
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [k for page in pages for k in page] == [f"key-{i:03d}" for i in range(25)]


def test_scan_filters_with_a_condition_across_pages(backend):
    kv = backend.kv
    for i in range(25):
        kv.put(TABLE, f"key-{i:03d}", {"i": i, "even": i % 2 == 0})
    got = list(scan_all(kv, TABLE, condition=[Cond.eq("even", True), Cond("i", Op.GE, 10)], page=4))
    assert [item["i"] for _, item in got] == [10, 12, 14, 16, 18, 20, 22, 24]
    first, marker = kv.scan(TABLE, condition=[Cond.eq("even", True)], limit=3)
    assert [k for k, _ in first] == ["key-000", "key-002", "key-004"] and marker is not None


def test_scan_of_an_empty_table_is_empty(backend):
    assert backend.kv.scan("never-written") == ([], None)


@pytest.mark.parametrize("value", [[1, 2], {"a": 1}, b"bytes", object()])
def test_nested_values_are_rejected_naming_the_attribute(backend, value):
    with pytest.raises((TypeError, ValueError), match="bad_attr"):
        backend.kv.put(TABLE, "k", {"bad_attr": value})


def test_increment_of_text_is_rejected_and_changes_nothing(backend):
    backend.kv.put(TABLE, "k", {"name": "x", "n": 1})
    with pytest.raises(ValueError, match="name"):
        backend.kv.update(TABLE, "k", {"n": 2}, increment={"name": 1})
    assert backend.kv.get(TABLE, "k") == {"name": "x", "n": 1}


#: Text V3IO expressions cannot carry (no escapes, no backslash) next to text they can.
AWKWARD_TEXT = ["o'brien", 'say "hi"', "it's \"both\"", "back\\slash", "semi;colon", "new\nline", "naïve ☃", ""]


@pytest.mark.parametrize("text", AWKWARD_TEXT)
def test_text_of_any_characters_is_stored_compared_and_filtered_intact(backend, text):
    kv = backend.kv
    kv.put(TABLE, "put", {"s": text})
    assert kv.update(TABLE, "set", {"s": text, "n": 1}) is True
    assert kv.update(TABLE, "inc", {"s": text, "names": f'["{text}"]'}, increment={"n": 2}) is True
    assert [kv.get(TABLE, k)["s"] for k in ("put", "set", "inc")] == [text, text, text]
    assert kv.get(TABLE, "inc")["n"] == 2

    assert kv.update(TABLE, "inc", {"seen": True}, increment={"n": 1}, condition=[Cond.eq("s", text)]) is True
    assert kv.update(TABLE, "inc", {"seen": False}, condition=[Cond.eq("s", text + "x")]) is False
    assert kv.update(TABLE, "inc", increment={"n": 1}, condition=[Cond("s", Op.NE, text)]) is False
    assert kv.get(TABLE, "inc") == {"s": text, "names": f'["{text}"]', "n": 3, "seen": True}
    kv.put(TABLE, "other", {"s": text + "x"})
    assert [k for k, _ in scan_all(kv, TABLE, condition=[Cond.eq("s", text)], page=2)] == ["inc", "put", "set"]


def test_long_text_is_written_with_an_increment_and_a_condition(backend):
    """V3IO takes expressions of at most 8 KB; 20 KB of names still go in the same compare-and-set."""
    kv = backend.kv
    names = json.dumps([f"feature_{i}" for i in range(2000)])
    kv.put(TABLE, "k", {"version": 1})
    assert kv.update(TABLE, "k", {"names": names}, increment={"version": 1}, condition=[Cond.eq("version", 1)])
    assert not kv.update(TABLE, "k", {"names": "[]"}, increment={"version": 1}, condition=[Cond.eq("version", 1)])
    assert kv.get(TABLE, "k") == {"version": 2, "names": names}


def test_update_many_applies_each_compare_and_set_in_order(backend):
    kv = backend.kv
    kv.put(TABLE, "old", {"end_ms": 100, "v": "old"})
    kv.put(TABLE, "later", {"end_ms": 900, "v": "later"})
    done = kv.update_many(TABLE, [
        Update("old", {"end_ms": 200, "v": "new"}, (Cond("end_ms", Op.LE, 200),), create=False),
        Update("later", {"end_ms": 200, "v": "new"}, (Cond("end_ms", Op.LE, 200),), create=False),
        Update("absent", {"end_ms": 200}, (Cond("end_ms", Op.LE, 200),), create=False),
        Update("fresh", {"end_ms": 200, "v": "created"}, (Cond.not_exists("end_ms"),)),
        Update("fresh", {"end_ms": 300, "v": "again"}, (Cond.not_exists("end_ms"),)),  # sees the one before it
        Update("fresh", {"v": "second"}, (Cond.eq("end_ms", 200),)),
    ])
    assert done == [True, False, False, True, False, True]
    assert kv.get(TABLE, "old") == {"end_ms": 200, "v": "new"}
    assert kv.get(TABLE, "later") == {"end_ms": 900, "v": "later"}
    assert kv.get(TABLE, "absent") is None
    assert kv.get(TABLE, "fresh") == {"end_ms": 200, "v": "second"}
    assert kv.update_many(TABLE, []) == []


def test_update_many_merges_attributes_like_update(backend):
    kv = backend.kv
    kv.put(TABLE, "k", {"a": 1, "b": "keep"})
    assert kv.update_many(TABLE, [Update("k", {"a": 2, "c": 3.5})]) == [True]
    assert kv.get(TABLE, "k") == {"a": 2, "b": "keep", "c": 3.5}
