"""``loads_exact`` gives what ``json.loads`` gives for every text, whichever decoder it used."""

from __future__ import annotations

import json

import pytest

from modelmon.core.json_text import loads_exact

TEXTS = [
    '{"a": 1, "b": [1.5, "x", null, true], "c": {"d": -2}}',
    '{"big": 123456789012345678901234567890}',  # orjson: a float
    '[[1, [2, [-98765432109876543210]]]]',
    '{"nan": NaN, "inf": Infinity}',  # orjson refuses
    '"\\ud800"',  # a lone surrogate: orjson refuses
    '{"huge float": 1e300, "small": -1e-300}',
    '9223372036854775807',  # 2**63 - 1: the largest orjson reads as an integer
    '"just text"',
]


@pytest.mark.parametrize("text", TEXTS)
def test_reads_as_json_reads(text):
    got, want = loads_exact(text), json.loads(text)
    assert repr(got) == repr(want)  # repr: NaN equal to NaN, and an int not equal to the same float


def test_bytes_are_read_too():
    assert loads_exact(b'{"x": [1, 2]}') == {"x": [1, 2]}


def test_no_json_is_a_value_error():
    with pytest.raises(ValueError):
        loads_exact("{not json")


def test_parse_constant_refuses_what_orjson_also_refuses_with_its_own_message():
    def refuse(name: str) -> float:
        raise ValueError(f"no {name} here")

    with pytest.raises(ValueError, match="no NaN here"):
        loads_exact('{"x": [1, NaN]}', parse_constant=refuse)
    assert loads_exact('{"x": [1, 2]}', parse_constant=refuse) == {"x": [1, 2]}
