"""A false condition as the platform answers it: HTTP 400 and code 16777244, in each reply shape it has used.

The web-API docs (UpdateItem, PutItem) say a false ConditionExpression is a 400; the code and its layout
come from the clients that recognise it (storey ``V3ioDriver._is_false_condition_error``, frames
``backends/kv/writer.go`` and v3io-tsdb ``pkg/utils/misc.go`` ``isFalseConditionError``), which all
match the body's text. The test server answers in each shape (``V3ioTestServer.answer_condition_false``).
"""

from __future__ import annotations

import json
import types

import pytest
import v3io.dataplane
from v3io.dataplane import RaiseForStatus
from v3io_server.kv_functions import CONDITION_FALSE_SHAPES
from v3io_server.stack import ACCESS_KEY

from modelmon.backends.base import Cond, OutRecord
from modelmon.backends.v3io.calls import is_condition_false
from modelmon.core.errors import NotFound

TABLE = "users/pipelines/p/monitoring-schedules/last-analyzed"


@pytest.mark.parametrize("shape", sorted(CONDITION_FALSE_SHAPES))
def test_a_false_condition_is_false_in_every_reply_shape(servers, backend, shape):
    """``inner-outer`` (the inner code on top) made the update raise BackendError before."""
    servers[0].answer_condition_false(shape)
    kv = backend.kv
    kv.put(TABLE, "e.app", {"last_analyzed_ms": 100, "claim_id": "c1"})

    assert kv.update(TABLE, "e.app", {"last_analyzed_ms": 200}, condition=[Cond.eq("last_analyzed_ms", 5)]) is False
    assert kv.update(TABLE, "e.app", {"n": 1}, increment={"tries": 1}, condition=[Cond.eq("claim_id", "c2")]) is False
    assert kv.update(TABLE, "new", {"a": 1}, condition=[Cond.exists("a")], create=True) is False
    assert kv.get(TABLE, "e.app") == {"last_analyzed_ms": 100, "claim_id": "c1"}
    assert kv.get(TABLE, "new") is None
    assert kv.update(TABLE, "e.app", {"last_analyzed_ms": 200}, condition=[Cond.eq("last_analyzed_ms", 100)])


@pytest.mark.parametrize("shape", sorted(CONDITION_FALSE_SHAPES))
def test_an_offset_commit_on_a_missing_shard_is_not_found_in_every_shape(servers, backend, shape):
    """The stream role's commit is conditioned on ``__obj_type == 3`` and shares the recognition."""
    servers[0].answer_condition_false(shape)
    stream = "projects/p/model-endpoints/stream"
    backend.streams.create(stream, shards=1)
    backend.streams.put_records(stream, [OutRecord(b"x", shard=0)])
    backend.streams.commit(stream, "g", 0, 1)
    with pytest.raises(NotFound, match="no such stream shard"):
        backend.streams.commit(stream, "g", 3, 1)
    assert backend.streams.committed(stream, "g", 0) == 1


@pytest.mark.parametrize("shape", sorted(CONDITION_FALSE_SHAPES))
def test_the_server_answers_400_with_the_codes_of_the_shape(servers, shape):
    web, _ = servers
    web.answer_condition_false(shape)
    client = v3io.dataplane.Client(endpoint=web.url, access_key=ACCESS_KEY)
    try:
        client.kv.put("users", "t", "k", {"v": 1})
        refused = client.kv.update("users", "t", "k", expression="SET v = 2", condition="v == 5",
                                   raise_for_status=RaiseForStatus.never)
    finally:
        client.close()
    text = refused.body.decode()
    top = json.loads(text)["ErrorCode"]
    assert refused.status_code == 400
    assert (text.count("ErrorCode"), top) == {"flat": (1, -16777244), "outer-inner": (2, -16777244),
                                              "inner-outer": (2, -16777245)}[shape]
    assert "16777244" in text and is_condition_false(refused)


def _answer(status: int, body: str | bytes) -> types.SimpleNamespace:
    return types.SimpleNamespace(status_code=status, body=body.encode() if isinstance(body, str) else body)


@pytest.mark.parametrize(
    ("status", "body", "false_condition"),
    [
        (400, '{"ErrorCode": -16777244, "ErrorMessage": "x"}', True),
        (400, '{\n\t"ErrorCode": -16777244,\n\t"ErrorMessage": "x"\n}', True),  # the platform's layout
        (400, '{"ErrorCode": 16777244}', True),
        (400, '{"ErrorCode": "-16777244", "ErrorMessage": "x"}', True),  # the code as text
        (400, '{"ErrorCode": -16777245, "ErrorMessage": "x: {\\"ErrorCode\\": -16777244}"}', True),
        (400, '{"ErrorCode": -16777244}{"ErrorCode": -16777245}', True),  # not one JSON document
        (400, "ErrorCode: -16777244", True),
        (400, '{"ErrorCode": -22, "ErrorMessage": "bad expression: a == 16777244"}', False),
        (400, '{"ErrorCode": -167772440}', False),
        (400, '{"ErrorCode": -16777245, "ErrorMessage": "x"}', False),
        (409, '{"ErrorCode": -16777244}', False),  # only a 400 is a false condition
        (400, b"", False),
    ],
)
def test_recognised_by_the_code_or_the_text(status, body, false_condition):
    assert is_condition_false(_answer(status, body)) is false_condition


def test_an_unknown_shape_is_refused(servers):
    with pytest.raises(ValueError, match="flat"):
        servers[0].answer_condition_false("xml")
