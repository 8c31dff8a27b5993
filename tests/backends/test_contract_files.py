"""Sample store and object store contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelmon.core.errors import NotFound

HOUR = 3_600_000
T0 = 1_700_000_000_000 // HOUR * HOUR  # an hour boundary


@pytest.fixture
def opener(files_opener):
    """These tests also run on the fsspec stores (samples and objects only; the other roles are local's)."""
    return files_opener


def _rows(start: int, n: int, step: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "timestamp": np.arange(start, start + n * step, step, dtype="int64"),
        "request_id": [f"r{seed}-{i}" for i in range(n)],
        "f1": rng.normal(size=n),
        "prediction": rng.integers(0, 2, size=n),
    })


def test_read_spans_partitions_and_is_half_open(backend):
    df = _rows(T0 - HOUR // 2, 30, HOUR // 10)  # three hours and a half of rows
    backend.samples.append("ep1", df.iloc[:17], "batch-1")
    backend.samples.append("ep1", df.iloc[17:], "batch-2")
    start, end = int(df.timestamp[3]), int(df.timestamp[25])
    got = backend.samples.read("ep1", start, end)
    want = df[(df.timestamp >= start) & (df.timestamp < end)].reset_index(drop=True)
    pd.testing.assert_frame_equal(got[list(df.columns)], want, check_dtype=False)
    assert backend.samples.read("ep2", start, end).empty


def test_reappending_a_batch_replaces_it(backend):
    df = _rows(T0, 20, 60_000)
    backend.samples.append("ep1", df, "batch-1")
    backend.samples.append("ep1", df, "batch-1")
    assert len(backend.samples.read("ep1", T0, T0 + HOUR)) == 20
    moved = _rows(T0 + 2 * HOUR, 5, 1000, seed=1)  # same batch id, rows now in another hour
    backend.samples.append("ep1", moved, "batch-1")
    got = backend.samples.read("ep1", T0 - HOUR, T0 + 5 * HOUR)
    assert got.request_id.tolist() == moved.request_id.tolist()


def test_rows_come_back_in_timestamp_order_with_selected_columns(backend):
    late, early = _rows(T0 + 1000, 5, 10, seed=1), _rows(T0, 5, 10, seed=2)
    backend.samples.append("ep1", late, "b-late")
    backend.samples.append("ep1", early, "b-early")
    got = backend.samples.read("ep1", T0, T0 + HOUR, columns=["timestamp", "f1"])
    assert got.timestamp.tolist() == sorted(late.timestamp.tolist() + early.timestamp.tolist())
    assert "f1" in got.columns and "request_id" not in got.columns


def test_sample_rows_need_a_timestamp(backend):
    with pytest.raises(ValueError, match="timestamp"):
        backend.samples.append("ep1", pd.DataFrame({"f1": [1.0]}), "b")
    with pytest.raises(ValueError, match="endpoint"):
        backend.samples.append("../escape", _rows(T0, 1, 1), "b")


def test_a_column_that_files_store_with_different_types_reads_as_one_type(backend):
    """Files written before feature types were kept: numbers in most of a column's files, text in one."""
    numbers = pd.DataFrame({"timestamp": [T0, T0 + 1, T0 + 2], "x": [1.0, 2.0, 3.0], "c": ["a", "b", "a"]})
    text = pd.DataFrame({"timestamp": [T0 + 3], "x": ["hello"], "c": [7.0]})  # one bad request, same hour
    backend.samples.append("ep1", numbers, "batch-1")
    backend.samples.append("ep1", text, "batch-2")

    got = backend.samples.read("ep1", T0, T0 + HOUR)

    assert got["x"].dtype == np.float64 and got["x"].tolist()[:3] == [1.0, 2.0, 3.0] and np.isnan(got["x"][3])
    assert got["c"].tolist() == ["a", "b", "a", "7.0"]  # text wins where text is the majority
    assert backend.samples.read("ep1", T0, T0 + HOUR, columns=["x"])["x"].dtype == np.float64


def test_objects_put_get_list_delete(backend):
    objs = backend.objects
    objs.put_object("artifacts/a/one.json", b"1")
    objs.put_object("artifacts/a/two.json", b"2")
    objs.put_object("artifacts/b/three.json", b"3")
    objs.put_object("artifacts/a/one.json", b"one")
    assert objs.get_object("artifacts/a/one.json") == b"one"
    assert objs.list_objects("artifacts/a/") == ["artifacts/a/one.json", "artifacts/a/two.json"]
    assert objs.list_objects("artifacts/") == ["artifacts/a/one.json", "artifacts/a/two.json", "artifacts/b/three.json"]
    objs.delete_object("artifacts/a/one.json")
    objs.delete_object("artifacts/a/one.json")
    with pytest.raises(NotFound, match=r"one\.json"):
        objs.get_object("artifacts/a/one.json")


@pytest.mark.parametrize("path", ["../outside", "a/../../outside", "/etc/passwd", "a/./b", ""])
def test_objects_reject_path_traversal(backend, path):
    with pytest.raises(ValueError, match="path"):
        backend.objects.put_object(path, b"x")
    with pytest.raises(ValueError, match="path"):
        backend.objects.get_object(path)
