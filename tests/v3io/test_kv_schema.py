"""The ``.#schema`` file frames' KV reader (Grafana's datasource) needs, read back through the real frames client."""

from __future__ import annotations

import json

import pytest
import v3io_frames
from v3io_server.stack import ACCESS_KEY

from modelmon.backends.v3io.schema import kv_schema, schema_path, write_kv_schema

TABLE = "users/pipelines/p/model-endpoints/endpoints"
FIELDS = {"uid": "string", "model": "string", "error_count": "long", "metrics": "string"}


def _frames(frames):
    return v3io_frames.Client(address=frames.address, container="users", token=ACCESS_KEY)


def _fill(backend):
    backend.kv.put(TABLE, "e1", {"uid": "e1", "model": "m:1", "error_count": 2, "metrics": "{}"})
    backend.kv.put(TABLE, "e2", {"uid": "e2", "model": "m:2", "error_count": 0})


def test_a_kv_read_without_a_schema_fails_as_framesd_does(servers, backend):
    _fill(backend)
    with pytest.raises(Exception, match="Failed to find a schema for table"):
        _frames(servers[1]).read(backend="kv", table=TABLE.removeprefix("users/"), columns=["uid"])


def test_with_the_schema_the_query_returns_the_items(servers, backend):
    _fill(backend)
    write_kv_schema(backend.objects, TABLE, "uid", FIELDS)
    assert json.loads(backend.objects.get_object(schema_path(TABLE)))["key"] == "uid"
    client = _frames(servers[1])
    table = TABLE.removeprefix("users/")
    uids = client.read(backend="kv", table=table, columns=["uid"])
    assert sorted(uids["uid"]) == ["e1", "e2"]
    errors = client.read(backend="kv", table=table, columns=["error_count"], filter="uid=='e1'")
    assert errors["error_count"].tolist() == [2]
    every = client.read(backend="kv", table=table)
    assert sorted(every.index) == ["e1", "e2"] and sorted(every.columns) == ["error_count", "metrics", "model"]
    assert every.loc["e1", "model"] == "m:1"


def test_an_attribute_the_schema_does_not_list_fails_a_full_read(servers, backend):
    _fill(backend)
    backend.kv.update(TABLE, "e2", {"extra": 1.5})
    write_kv_schema(backend.objects, TABLE, "uid", FIELDS)
    with pytest.raises(Exception, match="doesn't exist in the schema file"):
        _frames(servers[1]).read(backend="kv", table=TABLE.removeprefix("users/"))
    with pytest.raises(Exception, match="column 'nope' doesn't exist"):
        _frames(servers[1]).read(backend="kv", table=TABLE.removeprefix("users/"), columns=["nope"])


def test_the_schema_file_is_no_item_of_the_table(backend):
    _fill(backend)
    write_kv_schema(backend.objects, TABLE, "uid", FIELDS)
    keys = [key for key, _ in backend.kv.scan(TABLE)[0]]
    assert keys == ["e1", "e2"]


def test_bad_schemas_are_refused():
    with pytest.raises(ValueError, match="key attribute"):
        kv_schema("uid", {"model": "string"})
    with pytest.raises(ValueError, match="unknown field types"):
        kv_schema("uid", {"uid": "text"})


def test_the_item_names_read_as_the_system_column(servers, backend):
    _fill(backend)
    write_kv_schema(backend.objects, TABLE, "uid", FIELDS)
    names = _frames(servers[1]).read(backend="kv", table=TABLE.removeprefix("users/"), columns=["__name"])
    assert sorted(names["__name"]) == ["e1", "e2"]  # how MLRun's applications dashboard lists the apps
