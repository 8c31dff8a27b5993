"""V3IO expressions in their documented syntax, on both sides: what modelmon writes, what the server takes.

Iguazio docs: "String values within the expression are enclosed within single quotes" (expressions
overview); "The backslash character (\\) isn't supported within expressions" and an expression is at
most 8 KB (software specifications, "Expressions"). No escape for a quote inside a literal is
documented, so text holding one goes to typed attributes, never into an expression.
"""

from __future__ import annotations

import pytest
import v3io.dataplane
from v3io.dataplane import RaiseForStatus
from v3io_server.expressions import ExpressionError, apply_update, parse_condition
from v3io_server.stack import ACCESS_KEY

from modelmon.backends.base import Cond
from modelmon.backends.v3io.expressions import (
    MAX_EXPRESSION_BYTES,
    NotExpressible,
    condition_expression,
    literal,
    update_expression,
)
from modelmon.backends.v3io.kv import V3ioKV
from modelmon.core.errors import BackendUnavailable

TABLE = "users/pipelines/p/model-endpoints/endpoints"


@pytest.mark.parametrize(("value", "written"), [("ok", "'ok'"), ('say "hi"', "'say \"hi\"'"), ("a;b", "'a;b'"),
                                                 ("", "''"), (None, "blob('')"), (True, "true"), (3, "3")])
def test_literals_are_single_quoted(value, written):
    assert literal("a", value) == written


@pytest.mark.parametrize("text", ["o'brien", "back\\slash", "'"])
def test_text_with_a_quote_or_a_backslash_has_no_literal(text):
    with pytest.raises(NotExpressible, match="'a'"):
        literal("a", text)
    with pytest.raises(NotExpressible):
        condition_expression([Cond.eq("a", text)])
    with pytest.raises(NotExpressible):
        update_expression({"a": text}, {"n": 1})


def test_expressions_over_8_kb_are_not_written():
    fits = "x" * (MAX_EXPRESSION_BYTES - len("SET a = ''"))
    assert len(update_expression({"a": fits}, {}).encode()) == MAX_EXPRESSION_BYTES
    with pytest.raises(NotExpressible, match="8192"):
        update_expression({"a": fits + "x"}, {})
    with pytest.raises(NotExpressible, match="8192"):
        condition_expression([Cond.eq(f"a{i}", 1) for i in range(1000)])


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('s == "x"', "cannot parse"),  # not the documented quoting
        ("s == 'it''s'", "unexpected"),  # no quote doubling either
        ("s == 'a\\'b'", "backslash"),
        ("s == '" + "x" * MAX_EXPRESSION_BYTES + "'", "longer than 8192"),
    ],
)
def test_the_server_refuses_what_the_syntax_does_not_document(text, reason):
    with pytest.raises(ExpressionError, match=reason):
        parse_condition(text)


def test_the_server_splits_update_statements_outside_literals_only():
    assert apply_update("SET a = 'x; y'; b = 'z'", {}) == {"a": "x; y", "b": "z"}
    with pytest.raises(ExpressionError, match="unterminated"):
        apply_update("SET a = 'x; b = 2", {})


def test_a_refused_expression_is_a_400_over_http(servers):
    client = v3io.dataplane.Client(endpoint=servers[0].url, access_key=ACCESS_KEY)
    try:
        client.kv.put("users", "t", "k", {"s": "x"})
        refused = client.kv.update("users", "t", "k", expression="SET s = \"it's\"",
                                   raise_for_status=RaiseForStatus.never)
        assert refused.status_code == 400
        assert client.kv.get("users", "t", "k").output.item == {"s": "x"}
    finally:
        client.close()


class _Interleaved(V3ioKV):
    """Another writer increments ``attr`` between this KV's read and its write, ``times`` times."""

    def __init__(self, kv: V3ioKV, attr: str, times: int) -> None:
        super().__init__(kv._client, kv._calls)
        self.other, self.attr, self.times = kv, attr, times

    def _read(self, table, key, attributes):
        got = super()._read(table, key, attributes)
        if self.times:
            self.times -= 1
            self.other.update(table, key, increment={self.attr: 10})
        return got


def test_text_with_a_quote_is_still_a_compare_and_set_when_another_writer_interleaves(backend):
    """The typed write is conditioned on the item as read: a change in between means read again."""
    backend.kv.put(TABLE, "ep", {"count": 0, "version": 0})
    kv = _Interleaved(backend.kv, "count", times=2)
    assert kv.update(TABLE, "ep", {"names": "[\"o'brien\"]"}, increment={"count": 1, "version": 1},
                     condition=[Cond.eq("version", 0)])
    assert backend.kv.get(TABLE, "ep") == {"count": 21, "version": 1, "names": "[\"o'brien\"]"}

    kv = _Interleaved(backend.kv, "version", times=1)  # the condition no longer holds after the change
    assert not kv.update(TABLE, "ep", {"names": "[\"o'neil\"]"}, increment={"count": 1},
                         condition=[Cond.eq("version", 1)])
    assert backend.kv.get(TABLE, "ep") == {"count": 21, "version": 11, "names": "[\"o'brien\"]"}


def test_an_item_that_keeps_changing_ends_in_backend_unavailable(backend):
    backend.kv.put(TABLE, "ep", {"count": 0})
    kv = _Interleaved(backend.kv, "count", times=100)
    with pytest.raises(BackendUnavailable, match="changed under 8 updates"):
        kv.update(TABLE, "ep", {"names": "o'brien"}, increment={"count": 1})
    assert backend.kv.get(TABLE, "ep") == {"count": 80}
