"""Classes of one bad request in a batched record of valid ones, for the fuzz test: only that request is
dead-lettered (with a reason holding the class's excerpt), the others are stored."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from fuzz_traffic import HUGE_FLOAT, MINUTE, NUMERIC, Case, Traffic, dump

NAN, INF = math.nan, math.inf
DAY = 24 * 60 * MINUTE
BIG_INT = 10**400  # valid JSON, beyond any float
NESTED_TOO_DEEP: list = json.loads("[" * 17 + "]" * 17)  # 17 levels, one more than accepted


def _cell(value: Any) -> Callable[[Traffic, dict], Any]:
    """Put ``value`` in one feature of the request's first row."""
    def change(t: Traffic, entry: dict) -> dict:
        inputs = entry["request"]["inputs"]
        if not isinstance(inputs[0], list):  # a flat list is one row: say so, a list put in it would read as rows
            inputs = entry["request"]["inputs"] = [inputs]
        inputs[0][t.rng.randrange(len(inputs[0]))] = value
        return entry
    return change


def _output(value: Any) -> Callable[[Traffic, dict], Any]:
    def change(t: Traffic, entry: dict) -> dict:
        outputs = entry["resp"]["outputs"]
        if isinstance(outputs[0], list):
            outputs[0][0] = value
        else:
            outputs[0] = value
        return entry
    return change


def _set(path: str, value: Any) -> Callable[[Traffic, dict], Any]:
    """Set ``request.inputs``-style dotted ``path`` of the entry (a key of the entry when it has no dot)."""
    def change(t: Traffic, entry: dict) -> dict:
        *parents, key = path.split(".")
        target = entry
        for parent in parents:
            target = target[parent]
        target[key] = value(t) if callable(value) else value
        return entry
    return change


def _rows(change_rows: Callable[[list], list]) -> Callable[[Traffic, dict], Any]:
    """Replace the request's input rows by ``change_rows(rows)``."""
    def change(t: Traffic, entry: dict) -> dict:
        inputs = entry["request"]["inputs"]
        entry["request"]["inputs"] = change_rows(inputs if isinstance(inputs[0], list) else [inputs])
        return entry
    return change


def _three_outputs(t: Traffic, entry: dict) -> dict:
    inputs = entry["request"]["inputs"]
    entry["resp"]["outputs"] = [[0.1, 0.2, 0.3]] * (len(inputs) if isinstance(inputs[0], list) else 1)
    return entry


def _two_rows_three_outputs(t: Traffic, entry: dict) -> dict:
    inputs = entry["request"]["inputs"]
    row = inputs[0] if isinstance(inputs[0], list) else inputs
    entry["request"]["inputs"] = [row, row]
    entry["resp"]["outputs"] = [[0.0] * len(o) if isinstance(o, list) else 0 for o in [entry["resp"]["outputs"][0]] * 3]
    return entry


def _error_event(change: Callable[[dict], None]) -> Callable[[Traffic, dict], Any]:
    def make(t: Traffic, entry: dict) -> dict:
        entry.pop("resp"), entry.pop("microsec")
        entry["error"] = "RuntimeError: boom"
        change(entry)
        return entry
    return make


def _values_row(row: Callable[[Traffic, dict], Any]) -> Callable[[Traffic, dict], Any]:
    """Replace the request's whole ``values`` row (not an entry): marked by a tuple."""
    return lambda t, entry: ("raw", row(t, entry))


#: name -> (how the request is broken, an excerpt of its letter's reason)
REQUEST_CLASSES: dict[str, tuple[Callable[[Traffic, dict], Any], str]] = {
    "nan_feature": (_cell(NAN), "non-finite"),
    "inf_feature": (_cell(INF), "non-finite"),
    "neg_inf_feature": (_cell(-INF), "non-finite"),
    "huge_literal_feature": (_cell(HUGE_FLOAT), "non-finite"),
    "bigint_feature": (_cell(BIG_INT), "too large"),
    "nan_output": (_output(NAN), "non-finite"),
    "inf_output": (_output(INF), "non-finite"),
    "bool_feature": (_cell(True), "values must be numbers, text, objects or lists"),
    "dict_feature": (_cell({"a": 1}), "is numeric on endpoint"),
    "nested_feature": (_cell([1.0]), "is numeric on endpoint"),
    "too_deep_feature": (_cell(NESTED_TOO_DEEP), "is nested more than"),
    "inputs_dict": (_set("request.inputs", {"f0": 1.0}), "request.inputs must be a non-empty list"),
    "inputs_string": (_set("request.inputs", "1.0,2.0,3.0"), "request.inputs must be a non-empty list"),
    "inputs_number": (_set("request.inputs", 1.5), "request.inputs must be a non-empty list"),
    "inputs_null": (_set("request.inputs", None), "request.inputs must be a non-empty list"),
    "inputs_empty": (_set("request.inputs", []), "request.inputs must be a non-empty list"),
    "inputs_empty_row": (_rows(lambda rows: [[] for _ in rows]), "has 0 features"),
    "ragged_rows": (_rows(lambda rows: [rows[0], rows[0][:-1]]), "every row must be a list of"),
    "too_wide": (_rows(lambda rows: [[*row, 1.0] for row in rows]), "features and"),
    "too_narrow": (_rows(lambda rows: [row[:-1] for row in rows]), "features and"),
    "ten_thousand_features": (_rows(lambda rows: [[0.5] * 10_000 for _ in rows]), "has 10000 features"),
    "too_many_outputs": (_three_outputs, "3 outputs; endpoint"),
    "rows_mismatch": (_two_rows_three_outputs, "2 input rows but 3 output rows"),
    "outputs_empty": (_set("resp.outputs", []), "resp.outputs must be a non-empty list"),
    "resp_missing": (_set("resp", None), "no 'resp' object"),
    "request_not_object": (_set("request", "abc"), "no 'request' object"),
    "when_future_day": (_set("when", lambda t: t.now + DAY), "ahead is accepted"),
    "when_year_2200_text": (_set("when", "2200-01-01T00:00:00"), "ahead is accepted"),
    "when_year_9999_number": (_set("when", 253_402_300_799_000), "ahead is accepted"),
    "when_year_9999_text": (_set("when", "9999-12-31 23:59:59.999999"), "ahead is accepted"),
    "when_ancient_1811_text": (_set("when", "1811-07-23 15:06:40"), "back is accepted"),
    "when_ancient_number": (_set("when", -5e12), "back is accepted"),
    "when_epoch_seconds": (_set("when", lambda t: t.now / 1000), "back is accepted"),
    "when_absurd_1e20": (_set("when", 1e20), "is not a timestamp"),
    "when_bigint": (_set("when", BIG_INT), "is not a timestamp"),
    "when_nan": (_set("when", NAN), "is not a timestamp"),
    "when_text_soon": (_set("when", "soon"), "is not a timestamp"),
    "when_text_empty": (_set("when", ""), "is not a timestamp"),
    "when_invalid_date": (_set("when", "2024-02-30 00:00:00"), "is not a timestamp"),
    "when_bool": (_set("when", True), "'when' must be a timestamp"),
    "when_missing": (_set("when", None), "'when' must be a timestamp"),
    "when_list": (_set("when", [2024, 3, 1]), "'when' must be a timestamp"),
    "microsec_negative": (_set("microsec", -5), "'microsec' must be a non-negative number"),
    "microsec_string": (_set("microsec", "1500"), "'microsec' must be a non-negative number"),
    "microsec_bool": (_set("microsec", True), "'microsec' must be a non-negative number"),
    "microsec_nan": (_set("microsec", NAN), "'microsec' must be a non-negative number"),
    "microsec_inf": (_set("microsec", HUGE_FLOAT), "'microsec' must be a non-negative number"),
    "microsec_bigint": (_set("microsec", BIG_INT), "'microsec' must be a non-negative number"),
    "error_event_no_inputs": (_error_event(lambda e: e["request"].pop("inputs")), "request.inputs"),
    "error_event_bad_when": (_error_event(lambda e: e.update(when="yesterday")), "is not a timestamp"),
    "error_event_future": (_error_event(lambda e: e.update(when="2999-01-01T00:00:00Z")), "ahead is accepted"),
    "values_row_too_long": (_values_row(lambda t, e: [e["request"], "infer", e["resp"], e["when"], 1, {}, None, 7]),
                            "must be a list of 7 items"),
    "values_row_not_list": (_values_row(lambda t, e: t.rng.choice(["abc", e, 5, None])), "must be a list of 7 items"),
}


def request_class(name: str) -> Callable[[Traffic], Case]:
    """One bad request among 1-5 valid ones of one endpoint; only it is dead-lettered."""
    change, reason = REQUEST_CLASSES[name]

    def generate(t: Traffic) -> Case:
        endpoint_id = t.rng.choice(NUMERIC)
        entries, valid = t.requests(endpoint_id, t.rng.randint(1, 5))
        bad = change(t, t.request(endpoint_id, request_id=t.request_id("bad-"))[0])
        at = t.rng.randint(0, len(entries))
        record = t.record(endpoint_id, [*entries[:at], {}, *entries[at:]])
        record["values"][at] = bad[1] if isinstance(bad, tuple) else record_row(bad)
        return Case(name, [dump(record)], valid, letters=1, reason=reason, alone=True)
    generate.__name__ = name
    return generate


def record_row(entry: dict) -> list:
    """An entry as a row of ``values`` (the order of ingest_fixtures' ``batched`` headers)."""
    return [entry.get("request"), "infer", entry.get("resp"), entry.get("when"), entry.get("microsec"), {},
            entry.get("error")]
