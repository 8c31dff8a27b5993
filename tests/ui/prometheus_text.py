"""A strict parser of the Prometheus text format 0.0.4, for tests: it refuses what Prometheus would
refuse or read differently (an undeclared or split family, a bad escape, a repeated series, a value
that is not Go float syntax), so a page it accepts means the same to Prometheus."""

from __future__ import annotations

import dataclasses
import re

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
_VALUE = re.compile(r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|NaN|[+-]Inf")
_COMMENT = re.compile(rf"# (HELP|TYPE) ({_NAME}) (.*)")
_SAMPLE = re.compile(rf"({_NAME})(?:\{{(.*)\}})? (\S+)")
_PAIR = re.compile(rf'({_LABEL})="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}

Labels = frozenset[tuple[str, str]]


@dataclasses.dataclass
class ParsedFamily:
    name: str
    type: str
    help: str
    samples: dict[Labels, float]

    def value(self, **labels: str) -> float:
        """The one sample whose labels include ``labels``."""
        found = [v for ls, v in self.samples.items() if set(labels.items()) <= ls]
        assert len(found) == 1, f"{self.name}{labels}: {len(found)} samples match"
        return found[0]

    def label_sets(self) -> list[dict[str, str]]:
        return [dict(ls) for ls in self.samples]


def parse(text: str) -> dict[str, ParsedFamily]:
    """The families of ``text`` by name; AssertionError naming the line on anything not strictly valid."""
    assert text.endswith("\n"), "the page must end with a newline"
    families: dict[str, ParsedFamily] = {}
    helps: dict[str, str] = {}
    current: str | None = None
    for number, line in enumerate(text[:-1].split("\n"), 1):
        where = f"line {number}: {line!r}"
        if line.startswith("#"):
            match = _COMMENT.fullmatch(line)
            assert match, f"{where}: a comment must be # HELP or # TYPE here"
            what, name, rest = match.groups()
            assert name not in families, f"{where}: family {name} declared twice"
            if what == "HELP":
                assert name not in helps, f"{where}: second HELP"
                helps[name] = rest.replace("\\n", "\n").replace("\\\\", "\\")
            else:
                assert rest in ("counter", "gauge"), f"{where}: type {rest!r}"
                assert name in helps, f"{where}: TYPE before HELP"
                families[name] = ParsedFamily(name, rest, helps[name], {})
                current = name
            continue
        match = _SAMPLE.fullmatch(line)
        assert match, f"{where}: not a sample line"
        name, body, value = match.groups()
        assert name == current, f"{where}: sample of {name} outside its family's block ({current})"
        assert _VALUE.fullmatch(value), f"{where}: value {value!r} is not Go float syntax"
        labels = _labels(body or "", where)
        assert labels not in families[name].samples, f"{where}: repeated series"
        families[name].samples[labels] = float(value.replace("Inf", "inf"))
    assert set(helps) == set(families), f"HELP without TYPE: {set(helps) - set(families)}"
    return families


def _labels(body: str, where: str) -> Labels:
    pairs: dict[str, str] = {}
    pos = 0
    while pos < len(body):
        match = _PAIR.match(body, pos)
        assert match, f"{where}: bad label pair at {body[pos:]!r}"
        name, raw, _ = match.groups()
        assert name not in pairs, f"{where}: label {name} twice"
        pairs[name] = re.sub(r"\\[\\\"n]", lambda e: _UNESCAPE[e.group()], raw)
        pos = match.end()
    return frozenset(pairs.items())
