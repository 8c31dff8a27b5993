"""TSDB contract: write/replace, label filters, step aggregation checked against pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelmon.core.errors import NotFound

TABLE = "users/pipelines/p/monitoring-apps/metrics"
LABELS = ["endpoint_id", "app_name"]


def _frame(n: int = 200, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "time": np.sort(rng.choice(np.arange(0, 100_000, 37), size=n, replace=False)).astype("int64"),
        "endpoint_id": rng.choice(["ep1", "ep2", "ep3"], size=n),
        "app_name": rng.choice(["drift", "perf"], size=n),
        "value": rng.normal(size=n),
        "count": rng.integers(0, 50, size=n),
    })


def test_missing_table_is_not_found(backend):
    with pytest.raises(NotFound, match="nope"):
        backend.tsdb.read("nope", 0, 10)
    with pytest.raises(NotFound, match="nope"):
        backend.tsdb.write("nope", pd.DataFrame({"time": [1], "e": ["a"], "v": [1.0]}), ["e"])


def test_read_returns_the_range_sorted_by_labels_then_time(backend):
    df = _frame()
    backend.tsdb.create_table(TABLE)
    backend.tsdb.create_table(TABLE)  # idempotent
    backend.tsdb.write(TABLE, df.sample(frac=1, random_state=1), LABELS)
    got = backend.tsdb.read(TABLE, 10_000, 60_000)
    want = df[(df.time >= 10_000) & (df.time < 60_000)].sort_values([*LABELS, "time"], ignore_index=True)
    pd.testing.assert_frame_equal(got[["time", *LABELS, "value", "count"]], want[["time", *LABELS, "value", "count"]],
                                  check_dtype=False)


def test_same_time_and_labels_replaces(backend):
    backend.tsdb.create_table(TABLE)
    row = {"time": [1000], "endpoint_id": ["ep1"], "app_name": ["a"]}
    backend.tsdb.write(TABLE, pd.DataFrame({**row, "value": [1.0]}), LABELS)
    backend.tsdb.write(TABLE, pd.DataFrame({**row, "value": [2.0]}), LABELS)
    backend.tsdb.write(TABLE, pd.DataFrame({**row, "app_name": ["b"], "value": [3.0]}), LABELS)
    got = backend.tsdb.read(TABLE, 0, 2000)
    assert got[["app_name", "value"]].values.tolist() == [["a", 2.0], ["b", 3.0]]


def test_filters_by_one_value_or_a_list(backend):
    df = _frame()
    backend.tsdb.create_table(TABLE)
    backend.tsdb.write(TABLE, df, LABELS)
    one = backend.tsdb.read(TABLE, 0, 100_000, filters={"endpoint_id": "ep2"}, columns=["value"])
    assert list(one.columns) == ["time", *LABELS, "value"]
    assert set(one.endpoint_id) == {"ep2"} and len(one) == (df.endpoint_id == "ep2").sum()
    many = backend.tsdb.read(TABLE, 0, 100_000, filters={"endpoint_id": ["ep1", "ep3"], "app_name": "perf"})
    assert len(many) == (df.endpoint_id.isin(["ep1", "ep3"]) & (df.app_name == "perf")).sum()


def test_step_aggregation_matches_pandas(backend):
    df = _frame(500)
    backend.tsdb.create_table(TABLE)
    backend.tsdb.write(TABLE, df, LABELS)
    start, end, step = 5_000, 95_000, 10_000
    aggs = ["count", "sum", "avg", "min", "max", "last"]
    got = backend.tsdb.read(TABLE, start, end, step=step, aggregators=aggs, columns=["value", "count"])

    window = df[(df.time >= start) & (df.time < end)].sort_values("time")
    window = window.assign(bucket=start + (window.time - start) // step * step)
    grouped = window.groupby([*LABELS, "bucket"])
    for (ep, app, bucket), rows in grouped:
        mine = got[(got.endpoint_id == ep) & (got.app_name == app) & (got.time == bucket)]
        assert len(mine) == 1, (ep, app, bucket)
        mine = mine.iloc[0]
        for column in ("value", "count"):
            values = rows[column].to_numpy(dtype=float)
            assert mine[f"count({column})"] == len(values)
            assert mine[f"sum({column})"] == pytest.approx(values.sum())
            assert mine[f"avg({column})"] == pytest.approx(values.mean())
            assert mine[f"min({column})"] == pytest.approx(values.min())
            assert mine[f"max({column})"] == pytest.approx(values.max())
            assert mine[f"last({column})"] == pytest.approx(values[-1])
    assert len(got) == grouped.ngroups  # empty buckets are omitted
    assert got[[*LABELS, "time"]].equals(got[[*LABELS, "time"]].sort_values([*LABELS, "time"]))


def test_bad_aggregator_is_rejected(backend):
    backend.tsdb.create_table(TABLE)
    with pytest.raises(ValueError, match="median"):
        backend.tsdb.read(TABLE, 0, 10, step=5, aggregators=["median"])


def test_write_without_time_is_rejected(backend):
    backend.tsdb.create_table(TABLE)
    with pytest.raises(ValueError, match="time"):
        backend.tsdb.write(TABLE, pd.DataFrame({"endpoint_id": ["a"], "value": [1.0]}), ["endpoint_id"])


def test_empty_table_reads_empty(backend):
    backend.tsdb.create_table(TABLE)
    assert backend.tsdb.read(TABLE, 0, 10).empty
    assert backend.tsdb.read(TABLE, 0, 10, step=5, aggregators=["sum"]).empty


def test_aggregators_without_step_give_one_bucket_per_label_set(backend):
    df = _frame()
    backend.tsdb.create_table(TABLE)
    backend.tsdb.write(TABLE, df, LABELS)
    got = backend.tsdb.read(TABLE, 20_000, 80_000, aggregators=["sum", "count"], columns=["count"])
    window = df[(df.time >= 20_000) & (df.time < 80_000)]
    want = window.groupby(LABELS)["count"].agg(["sum", "count"]).reset_index()
    assert set(got.time) == {20_000}
    assert got[[*LABELS, "sum(count)", "count(count)"]].values.tolist() == want.values.tolist()
