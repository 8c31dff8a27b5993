"""The frames test server's TSDB with text values, as v3io-tsdb keeps them (string metrics: stored and read
as text, a metric keeps the kind of its first sample, no aggregates), through the real ``v3io_frames`` client."""

from __future__ import annotations

import pandas as pd
import pytest
import v3io_frames
from v3io_server.stack import ACCESS_KEY


@pytest.fixture
def client(servers):
    client = v3io_frames.Client(address=servers[1].address, container="users", token=ACCESS_KEY)
    client.create("tsdb", "t", rate="1/s", if_exists=v3io_frames.IGNORE)
    return client


def _frame(times_ms, labels, **columns):
    index = pd.to_datetime(times_ms, unit="ms", utc=True)
    return pd.DataFrame({"time": index, "ep": labels, **columns}).set_index(["time", "ep"])


def test_text_columns_round_trip_beside_numbers(client):
    client.write("tsdb", "t", _frame([0, 60_000], ["a", "a"], value=[1.5, 2.5],
                                      started=["2024-01-01 00:00:00.000000+00:00", "2024-01-01 00:01:00.000000+00:00"]))
    rows = client.read("tsdb", "t", start="0", end="now", multi_index=True).reset_index()
    assert rows[["ep", "value", "started"]].values.tolist() == [
        ["a", 1.5, "2024-01-01 00:00:00.000000+00:00"], ["a", 2.5, "2024-01-01 00:01:00.000000+00:00"]]
    only = client.read("tsdb", "t", columns=["started"], start="0", end="now")
    assert list(only.columns) == ["started", "ep"] and only["started"].tolist()[-1].endswith("00:01:00.000000+00:00")


def test_a_row_without_a_text_sample_reads_as_missing(client):
    client.write("tsdb", "t", _frame([0], ["a"], value=[1.0], started=["x"]))
    client.write("tsdb", "t", _frame([60_000], ["a"], value=[2.0]))
    rows = client.read("tsdb", "t", start="0", end="now", multi_index=True).reset_index()
    assert rows["value"].tolist() == [1.0, 2.0] and rows["started"].tolist() == ["x", None]


def test_a_metric_keeps_the_kind_of_its_first_sample(client):
    client.write("tsdb", "t", _frame([0], ["a"], started=["x"], value=[1.0]))
    with pytest.raises(v3io_frames.Error, match="Cannot append numeric type metric to string type metric"):
        client.write("tsdb", "t", _frame([60_000], ["a"], started=[3.0]))
    with pytest.raises(v3io_frames.Error, match="Cannot append string type metric to numeric type metric"):
        client.write("tsdb", "t", _frame([60_000], ["a"], value=["y"]))
    client.write("tsdb", "t", _frame([60_000], ["b"], value=["y"]))  # another label set is another metric
    other = client.read("tsdb", "t", columns=["value"], start="0", end="now", filter="ep=='b'")
    assert other["value"].tolist() == ["y"]


def test_text_is_not_aggregated(client):
    client.write("tsdb", "t", _frame([0, 30_000], ["a", "a"], started=["x", "y"]))
    with pytest.raises(v3io_frames.Error, match="cannot aggregate the string metric"):
        client.read("tsdb", "t", start="0", end="now", step="60s", aggregators="count")
