"""The protocol servers through the unmodified clients: status codes, error shapes, expressions, frames."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import v3io.dataplane
import v3io_frames
from v3io.dataplane import RaiseForStatus
from v3io_server.expressions import ExpressionError, apply_update, parse_condition
from v3io_server.stack import ACCESS_KEY, running_servers


@pytest.fixture
def servers():
    with running_servers() as pair:
        yield pair


@pytest.fixture
def client(servers):
    c = v3io.dataplane.Client(endpoint=servers[0].url, access_key=ACCESS_KEY)
    yield c
    c.close()


@pytest.mark.parametrize(
    ("text", "attrs", "holds"),
    [
        ("a == 1 AND b != 'x'", {"a": 1, "b": "y"}, True),
        ("a == 1 AND b != 'x'", {"a": 1}, False),  # a comparison with a missing attribute is false
        ("not exists(c) OR c > 2.5", {"c": 3}, True),
        ("(a < 0 OR a >= 10) AND exists(a)", {"a": 5}, False),
        ("s == 'a;b' AND t == 'x'", {"s": "a;b", "t": "x"}, True),
        ("t == true", {"t": True}, True),
        ("s > 3", {"s": "text"}, False),  # text against a number is false, not an error
        ("n == blob('')", {"n": b""}, True),
    ],
)
def test_conditions(text, attrs, holds):
    assert parse_condition(text)(attrs) is holds


def test_update_statements_apply_in_order():
    got = apply_update("SET a = a + 1; b = if_not_exists(b, 10) - 2.5; REMOVE c; SET d = a", {"a": 1, "c": 0})
    assert got == {"a": 2, "b": 7.5, "d": 2}
    with pytest.raises(ExpressionError, match="numbers"):
        apply_update("SET s = s + 1", {"s": "x"})


def test_create_stream_is_204_then_409_with_v3io_error_shape(client):
    first = client.stream.create("projects", "s", shard_count=2, raise_for_status=RaiseForStatus.never)
    again = client.stream.create("projects", "s", shard_count=2, raise_for_status=RaiseForStatus.never)
    assert (first.status_code, again.status_code) == (204, 409)
    assert json.loads(again.body)["ErrorCode"] == -17


def test_put_records_reports_failures_per_record(client):
    client.stream.create("projects", "s", shard_count=2)
    out = client.stream.put_records("projects", "s", [{"data": "a", "shard_id": 1}, {"data": "b", "shard_id": 7},
                                                      {"data": "c", "shard_id": 1}]).output
    assert out.failed_record_count == 1
    assert [(r.shard_id, r.sequence_number) for r in out.records] == [(1, 1), (None, None), (1, 2)]
    assert out.records[1].error_code == -22


def test_seek_and_get_records_walk_the_shard_with_next_location(client):
    client.stream.create("projects", "s", shard_count=1)
    client.stream.put_records("projects", "s", [{"data": str(i)} for i in range(5)])
    location = client.stream.seek("projects", "s", 0, "SEQUENCE", starting_sequence_number=2).output.location
    seen = []
    for _ in range(3):
        out = client.stream.get_records("projects", "s", 0, location, limit=2).output
        seen += [(r.sequence_number, r.data) for r in out.records]
        location = out.next_location
    assert seen == [(2, b"1"), (3, b"2"), (4, b"3"), (5, b"4")]
    missing = client.stream.seek("projects", "s", 0, "SEQUENCE", starting_sequence_number=9,
                                 raise_for_status=RaiseForStatus.never)
    assert missing.status_code == 400


def test_condition_false_is_400_with_its_code_and_the_verifier_changes(client):
    client.kv.put("users", "t", "k", {"v": 1})
    first = client.kv.get("users", "t", "k").headers["X-v3io-transaction-verifier"]
    refused = client.kv.update("users", "t", "k", expression="SET v = 2", condition="v == 5",
                               raise_for_status=RaiseForStatus.never)
    assert refused.status_code == 400 and "16777244" in refused.body.decode()
    client.kv.update("users", "t", "k", expression="SET v = 2", condition=first)  # storey's optimistic lock
    second = client.kv.get("users", "t", "k")
    assert second.output.item == {"v": 2} and second.headers["X-v3io-transaction-verifier"] != first


def test_get_items_pages_with_marker_and_filter(client):
    for i in range(7):
        client.kv.put("users", "t", f"k{i}", {"i": i})
    keys, marker = [], None
    while True:
        out = client.kv.scan("users", "t", filter_expression="i >= 2", limit=2, marker=marker,
                             attribute_names=["**"]).output
        keys += [item["__name"] for item in out.items]
        if out.last:
            break
        marker = out.next_marker
    assert keys == ["k2", "k3", "k4", "k5", "k6"]


def test_frames_tsdb_round_trip_with_step_and_aggregators(servers):
    client = v3io_frames.Client(address=servers[1].address, container="users", token=ACCESS_KEY)
    client.create("tsdb", "m", rate="1/s", if_exists=v3io_frames.IGNORE)
    times = pd.to_datetime([0, 30_000, 60_000, 90_000], unit="ms", utc=True)
    df = pd.DataFrame({"time": times, "ep": ["a", "a", "a", "b"], "v": [1.0, 3.0, 5.0, 7.0]}).set_index(["time", "ep"])
    client.write("tsdb", "m", df)
    got = client.read("tsdb", "m", start="0", end="119999", step="60s", aggregators="avg,count", multi_index=True)
    rows = got.reset_index()
    assert rows[["ep", "avg(v)", "count(v)"]].values.tolist() == [["a", 2.0, 2.0], ["a", 5.0, 1.0],
                                                                   ["b", 7.0, 1.0]]
    assert rows["time"].astype("int64").tolist() == [0, 60_000 * 10**6, 60_000 * 10**6]
    with pytest.raises(v3io_frames.Error, match="No TSDB schema"):  # the client wraps it as a WriteError
        client.read("tsdb", "missing", start="0", end="10")
