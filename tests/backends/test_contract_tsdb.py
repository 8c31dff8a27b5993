"""TSDB contract: first write wins (as on V3IO TSDB), label filters, step aggregation checked against pandas.

The rule every backend follows, because V3IO TSDB does (v3io-tsdb ``pkg/appender/store.go``,
``chunkStore.writeChunks``; framesd never sets ``OverrideOld``): a sample at or before the latest time
of its series is dropped silently. The ``v3io`` entry runs against ``tests/frames_server``, which
enforces it like framesd.
"""

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


def _rows(endpoint: str, app: str, times: list[int], values: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"time": pd.Series(times, dtype="int64"), "endpoint_id": endpoint, "app_name": app,
                         "value": values})


def _stored(backend) -> list[list]:
    return backend.tsdb.read(TABLE, 0, 100_000)[["time", "app_name", "value"]].values.tolist()


def test_first_write_wins_at_the_same_time(backend):
    backend.tsdb.create_table(TABLE)
    backend.tsdb.write(TABLE, _rows("ep1", "a", [1000], [1.0]), LABELS)
    backend.tsdb.write(TABLE, _rows("ep1", "a", [1000], [2.0]), LABELS)  # dropped: not after the series' latest
    backend.tsdb.write(TABLE, _rows("ep1", "b", [1000], [3.0]), LABELS)  # another label set: its own series
    assert _stored(backend) == [[1000, "a", 1.0], [1000, "b", 3.0]]


def test_a_sample_before_its_series_latest_time_is_dropped(backend):
    backend.tsdb.create_table(TABLE)
    backend.tsdb.write(TABLE, _rows("ep1", "a", [1000, 3000], [1.0, 3.0]), LABELS)
    backend.tsdb.write(TABLE, _rows("ep1", "a", [2000], [2.0]), LABELS)  # between stored points: still late
    backend.tsdb.write(TABLE, _rows("ep1", "a", [500, 3000, 4000], [0.5, 9.0, 4.0]), LABELS)  # only 4000 is new
    backend.tsdb.write(TABLE, _rows("ep1", "b", [2000], [2.0]), LABELS)  # b's series is empty: stored
    assert _stored(backend) == [[1000, "a", 1.0], [3000, "a", 3.0], [4000, "a", 4.0], [2000, "b", 2.0]]


def test_one_write_goes_in_time_order_per_series(backend):
    """Rows of one write in any order are all stored; of two at one time, the first in the frame."""
    backend.tsdb.create_table(TABLE)
    frame = pd.concat([_rows("ep1", "a", [3000, 1000, 2000, 1000], [3.0, 1.0, 2.0, 1.5]),
                       _rows("ep1", "b", [500], [0.5])], ignore_index=True)
    backend.tsdb.write(TABLE, frame, LABELS)
    assert _stored(backend) == [[1000, "a", 1.0], [2000, "a", 2.0], [3000, "a", 3.0], [500, "b", 0.5]]


def test_a_write_of_many_series_keeps_each_series_rule(backend):
    """More label sets in one write than one statement can look up: each still keeps first-write-wins."""
    backend.tsdb.create_table(TABLE)
    endpoints = [f"ep{i:04d}" for i in range(700)]
    first = pd.DataFrame({"time": pd.Series([1000] * 700, dtype="int64"), "endpoint_id": endpoints, "app_name": "a",
                          "value": 1.0})
    backend.tsdb.write(TABLE, first, LABELS)
    again = pd.concat([first.assign(value=2.0), first.assign(time=2000, value=3.0)], ignore_index=True)
    backend.tsdb.write(TABLE, again.sample(frac=1, random_state=5), LABELS)
    got = backend.tsdb.read(TABLE, 0, 100_000)
    assert len(got) == 1400
    assert {time: sorted(set(values)) for time, values in got.groupby("time")["value"]} == {1000: [1.0], 2000: [3.0]}


def test_writing_the_same_rows_again_changes_nothing(backend):
    df = _frame()
    backend.tsdb.create_table(TABLE)
    backend.tsdb.write(TABLE, df, LABELS)
    first = backend.tsdb.read(TABLE, 0, 100_000)
    backend.tsdb.write(TABLE, df.sample(frac=1, random_state=3), LABELS)
    backend.tsdb.write(TABLE, df.assign(value=df["value"] + 1), LABELS)  # new values at stored times: dropped
    pd.testing.assert_frame_equal(backend.tsdb.read(TABLE, 0, 100_000), first)


def test_a_write_may_add_a_label(backend):
    """Rows written before a label existed read it as empty text, and a filter on it can select them."""
    backend.tsdb.create_table(TABLE)
    backend.tsdb.write(TABLE, _rows("ep1", "a", [1000], [1.0]), LABELS)
    backend.tsdb.write(TABLE, _rows("ep1", "a", [1000], [2.0]).assign(rev="7"), [*LABELS, "rev"])  # a new series
    got = backend.tsdb.read(TABLE, 0, 100_000)
    assert got[["time", "rev", "value"]].values.tolist() == [[1000, "", 1.0], [1000, "7", 2.0]]
    assert backend.tsdb.read(TABLE, 0, 100_000, filters={"rev": "7"})["value"].tolist() == [2.0]


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
