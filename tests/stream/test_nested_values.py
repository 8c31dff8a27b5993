"""Objects and lists in tracking requests (an LLM's answer and token usage) are stored and read back as sent;
values that cannot be stored faithfully are dead-lettered alone, with the reason."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from ingest_fixtures import batched, entry
from v3io_server.stack import local_or_v3io

from modelmon.core.timeutil import to_ms
from modelmon.stream import RawRecord
from modelmon.stream.parsing import parse_record
from modelmon.stream.values import MAX_BYTES, MAX_DEPTH, nested_problem

T0 = to_ms("2024-03-01 12:00:00")


def _answer(i: int, prompt: int, completion: int) -> dict:
    return {"answer": f"reply {i}", "usage": {"prompt_tokens": prompt, "completion_tokens": completion}}


def test_dict_outputs_are_kept_as_objects_in_their_column(fn):
    entries = [entry(i, [f"question {i}"], [_answer(i, 10 + i, 20 + i)], T0 + i) for i in range(3)]
    report = fn.send(batched(entries, endpoint_id="llm"))
    assert report["rejected"] == 0 and report["requests"] == 3
    samples = fn.samples("llm")
    assert samples["f0"].tolist() == ["question 0", "question 1", "question 2"]
    assert samples["p0"].tolist() == [_answer(i, 10 + i, 20 + i) for i in range(3)]
    usage = samples["p0"].map(lambda output: output["usage"]).apply(pd.Series)
    assert usage["prompt_tokens"].sum() == 33 and usage["completion_tokens"].sum() == 63


def test_one_prompt_with_flat_answer_and_usage_is_one_row_as_mlrun_reads_it(fn):
    """MLRun 1.10's LLM serving sends ``outputs: [answer, usage]`` for one prompt: one row, two outputs."""
    entries = [entry(i, ["hi"], [f"reply {i}", {"prompt_tokens": 5, "completion_tokens": i}], T0 + i)
               for i in range(2)]
    fn.send(batched(entries, endpoint_id="llm2"))
    samples = fn.samples("llm2")
    assert samples["p0"].tolist() == ["reply 0", "reply 1"]
    assert samples["p1"].tolist() == [{"prompt_tokens": 5, "completion_tokens": 0},
                                      {"prompt_tokens": 5, "completion_tokens": 1}]


def test_list_inputs_and_outputs_and_mixed_columns_round_trip(fn):
    # an output that is a list is wrapped in its row: ``[["a", "b"]]`` would be one row of two outputs
    entries = [entry(0, [[1, 2, 3], "x"], [[["a", "b"]]], T0), entry(1, [{"k": None}, "y"], [[[]]], T0 + 1),
               entry(2, [None, "z"], [7], T0 + 2)]
    fn.send(batched(entries, endpoint_id="lists"))
    samples = fn.samples("lists")
    assert samples["f0"].tolist() == [[1, 2, 3], {"k": None}, None]
    assert samples["f1"].tolist() == ["x", "y", "z"]
    assert samples["p0"].tolist() == [["a", "b"], [], 7]  # a number in a column of lists stays a number


@pytest.fixture(params=["local", "v3io"])
def samples_backend(request, tmp_path):
    """Both sample stores: the embedded one and V3IO's (against the in-repo protocol servers)."""
    with local_or_v3io(request.param, tmp_path) as backend:
        yield backend


def test_objects_round_trip_through_either_sample_store(samples_backend):
    """Rows of different keys and value types, an empty object, text that looks like JSON (in a file of its
    own and beside objects) and numbers: each comes back as it was appended."""
    store = samples_backend.samples
    store.append("e", pd.DataFrame({"timestamp": [T0, T0 + 1], "answer": ['{"a": 1}', "plain"]}), "b1")
    nested = [{"a": 1}, {"a": "one", "b": [1, {"c": None}]}, {}, '{"a": 1}', 2.5, None]
    store.append("e", pd.DataFrame({"timestamp": [T0 + 2 + i for i in range(6)], "answer": nested}), "b2")
    assert store.read("e", 0, 2**62)["answer"].tolist() == ['{"a": 1}', "plain", *nested]
    assert store.read("e", T0 + 2, T0 + 3, columns=["answer"])["answer"].tolist() == [{"a": 1}]


def test_a_numeric_feature_refuses_an_object_alone(fn):
    fn.send(batched([entry(0, [1.0], [0], T0)], endpoint_id="num"), offset=1)
    report = fn.send(batched([entry(1, [{"a": 1}], [0], T0 + 1), entry(2, [2.0], [1], T0 + 2)], endpoint_id="num"),
                     offset=2)
    assert report["rejected"] == 1 and report["requests"] == 1
    assert "feature 'f0' is numeric" in fn.dead_letters()[-1].reason


def _deep(levels: int) -> list:
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


TOO_MUCH = {
    "too deep": ({"x": _deep(MAX_DEPTH)}, f"resp.outputs row 0 value 0 is nested more than {MAX_DEPTH} levels deep"),
    "too large": ({"text": "w" * MAX_BYTES}, f"at most {MAX_BYTES:,} are accepted"),
}


@pytest.mark.parametrize("kind", TOO_MUCH)
def test_a_value_too_deep_or_too_large_is_dead_lettered_alone(fn, kind):
    value, reason = TOO_MUCH[kind]
    body = batched([entry(0, ["q"], [value], T0), entry(1, ["q"], [_answer(1, 1, 2)], T0 + 1)], endpoint_id="big")
    report = fn.send(body)
    assert report["rejected"] == 1 and report["requests"] == 1
    letter = fn.dead_letters()[-1]
    assert letter.reason.startswith("request 'r0': ") and reason in letter.reason
    assert json.loads(letter.payload)["values"][0][2]["outputs"] == [value]  # replayable alone
    assert fn.samples("big")["p0"].tolist() == [_answer(1, 1, 2)]


def test_nan_inside_an_object_is_refused_with_its_request():
    body = json.dumps(batched([entry(0, [{"score": float("nan")}], [1], T0), entry(1, [{"score": 1.5}], [1], T0)]))
    parsed = parse_record(RawRecord(body.encode()), "proj")
    assert [r.reason for r in parsed.rejections] == [
        "request 'r0': request.inputs row 0 value 0 contains a non-finite number"]
    assert parsed.event is not None and parsed.event.inputs == [[[{"score": 1.5}]]]


def test_limits_of_nested_problem():
    assert nested_problem(_deep(MAX_DEPTH)) is None
    assert nested_problem(_deep(MAX_DEPTH + 1)) == f"is nested more than {MAX_DEPTH} levels deep"
    assert nested_problem({"t": "w" * (MAX_BYTES - 8)}) is None  # 8 bytes of {"t":""} around it: at the limit
    too_long = f"is {MAX_BYTES + 1:,} bytes as JSON; at most {MAX_BYTES:,} are accepted"
    assert nested_problem({"t": "w" * (MAX_BYTES - 7)}) == too_long
    assert nested_problem([1.0, float("inf")]) == "contains a non-finite number"
    assert nested_problem({"n": -(2**63)}) is None
    assert nested_problem({"n": 2**63}) == "contains an integer beyond 64 bits"
