"""The PromQL of the Grafana dashboards under ``dashboards/``: every panel's and variable's query, the
metric names each one reads, and the query with Grafana's variables filled in (to run it on Prometheus)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

DASHBOARDS = Path(__file__).parents[2] / "dashboards"
#: PromQL words that are neither metrics nor functions.
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
             "offset", "atan2", "inf", "nan"}
#: Words followed by a parenthesised list of label names, not of expressions.
_LABEL_LISTS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
_TOKEN = re.compile(r"""
      (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
    | (?P<variable>\$\{[^}]*\}|\$\w+|\[\[\w+\]\])
    | (?P<duration>(?:\d+(?:ms|[smhdwy]))+\b)
    | (?P<number>0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
    | (?P<punct>[(){}\[\],]|[^\s\w(){}\[\],"'`$]+)
    | (?P<space>\s+)
""", re.VERBOSE)
_VARIABLE_QUERY = re.compile(r"\s*(label_values|query_result)\((.*)\)\s*", re.DOTALL)


def dashboards() -> dict[str, dict[str, Any]]:
    """Each dashboard JSON by file name."""
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, those inside rows too."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panels(panel)


def expressions(dashboard: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """``(where, promql)`` of every panel target and every query variable (its inner expression)."""
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            yield f"panel {panel['title']!r} target {target['refId']}", target["expr"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
            yield f"variable {variable['name']}", variable_expression(query)


def variable_expression(query: str) -> str:
    """The PromQL inside a Grafana variable query: ``label_values(EXPR, label)`` or ``query_result(EXPR)``."""
    match = _VARIABLE_QUERY.fullmatch(query)
    assert match, f"unknown variable query {query!r}"
    function, inside = match.groups()
    if function == "query_result":
        return inside
    expr, _, label = inside.rpartition(",")
    assert re.fullmatch(r"\s*\w+\s*", label) and expr, f"label_values needs a metric and a label: {query!r}"
    return expr


def tokens(promql: str) -> list[tuple[str, str]]:
    """``(kind, text)`` tokens of ``promql``, spaces left out; AssertionError on a character it cannot read."""
    out = []
    pos = 0
    while pos < len(promql):
        match = _TOKEN.match(promql, pos)
        assert match, f"cannot read {promql[pos:]!r} in {promql!r}"
        if match.lastgroup != "space":
            out.append((str(match.lastgroup), match.group()))
        pos = match.end()
    return out


def metric_names(promql: str) -> set[str]:
    """The metrics ``promql`` reads: identifiers outside label matchers (``{...}``), range brackets and
    ``by (...)``-style label lists, that are neither called (functions, aggregations, also as
    ``sum by (...) (...)``) nor keywords."""
    toks = tokens(promql)
    names: set[str] = set()
    depth = {"{": 0, "[": 0}
    i = 0
    while i < len(toks):
        kind, text = toks[i]
        following = toks[i + 1][1] if i + 1 < len(toks) else ""
        if text in ("{", "["):
            depth[text] += 1
        elif text in ("}", "]"):
            depth["{" if text == "}" else "["] -= 1
        elif kind == "ident" and not any(depth.values()):
            if text.lower() in _LABEL_LISTS and following == "(":
                i = toks.index(("punct", ")"), i)  # skip the label names
            elif following != "(" and following.lower() not in ("by", "without") \
                    and text.lower() not in _KEYWORDS:  # not a function, not `sum by (...) (...)`
                names.add(text)
        i += 1
    assert not any(depth.values()), f"unbalanced brackets in {promql!r}"
    return names


def filled(promql: str, values: Mapping[str, str]) -> str:
    """``promql`` with Grafana's ``$name``/``${name}``/``[[name]]`` replaced from ``values`` (every one must be)."""
    def value(match: re.Match[str]) -> str:
        name = re.sub(r"^\$\{?|\}$|^\[\[|\]\]$", "", match.group())
        assert name in values, f"no value for ${name} in {promql!r}"
        return values[name]
    return re.sub(r"\$\{\w+\}|\$\w+|\[\[\w+\]\]", value, promql)


def variables(dashboard: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The dashboard's variables by name."""
    return {v["name"]: v for v in dashboard["templating"]["list"]}


def variable_options(variable: Mapping[str, Any], series: list[dict[str, str]]) -> list[tuple[str, str]]:
    """``(text, value)`` options Grafana's Prometheus data source makes of a query variable, given the
    label sets its expression selects (``series``): ``label_values`` lists the label's distinct values,
    ``query_result`` one line per series, ``name{k="v",...}`` in Prometheus' label order; then the
    variable's regex keeps the lines it matches, its ``text``/``value`` groups (or its first group) taken."""
    query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
    function, inside = _VARIABLE_QUERY.fullmatch(query).groups()  # type: ignore[union-attr]
    if function == "label_values":
        label = inside.rpartition(",")[2].strip()
        lines = sorted({s[label] for s in series if label in s})
    else:
        lines = [s.get("__name__", "") + "{" + ",".join(f'{k}="{v}"' for k, v in s.items() if k != "__name__")
                 + "}" for s in series]
    regex = variable.get("regex") or ""
    if not regex:
        return [(line, line) for line in lines]
    pattern = re.compile(regex.strip("/").replace("(?<", "(?P<"))
    options = []
    for line in lines:
        match = pattern.search(line)
        if match is None:
            continue
        groups = match.groupdict()
        if "text" in groups or "value" in groups:
            text = groups.get("text") or groups.get("value") or ""
            options.append((text, groups.get("value") or text))
        else:
            found = match.group(1) if pattern.groups else line
            options.append((found, found))
    return options
