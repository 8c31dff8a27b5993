"""The classes of malformed and adversarial tracking input the fuzz test sends, one named generator each.

``RECORD_CLASSES`` (here): the record cannot be read at all, so it is dead-lettered whole (its requests are
not stored). ``REQUEST_CLASSES`` (``fuzz_requests``): one bad request in a batched record of valid ones;
only that request is dead-lettered. ``ODD_BUT_VALID`` (``fuzz_odd``): adversarial input that is
nevertheless valid and must be stored once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fuzz_odd import ODD_BUT_VALID
from fuzz_requests import NAN, REQUEST_CLASSES, request_class
from fuzz_traffic import ENDPOINTS, HASHED, Case, Traffic, dump


def _whole(name: str, body: Callable[[Traffic], Any], reason: str) -> Callable[[Traffic], Case]:
    def generate(t: Traffic) -> Case:
        made = body(t)
        return Case(name, [made if isinstance(made, bytes) else dump(made)], letters=1, reason=reason)
    generate.__name__ = name
    return generate


def _valid_record(t: Traffic, like: str | None = None, **meta: Any) -> dict:
    """A record of requests of endpoint ``like`` (any) that would be valid but for what the class changes
    (``meta`` overrides its fields; its requests are never stored)."""
    like = like or t.rng.choice(ENDPOINTS)
    entries, _ = t.requests(like, t.rng.randint(1, 3))
    return t.record(like, entries, **meta)


def _without(body: dict, *fields: str) -> dict:
    return {k: v for k, v in body.items() if k not in fields}


def _single_inputs(t: Traffic) -> dict:
    entry, _ = t.request("ep-alpha")
    entry["request"]["inputs"] = t.rng.choice([{"a": 1.0}, "1,2,3", 3.5, None, []])
    return t.single("ep-alpha", entry)


def _single_rows_mismatch(t: Traffic) -> dict:
    entry, _ = t.request("ep-alpha")
    entry["request"]["inputs"], entry["resp"]["outputs"] = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [0, 1, 1]
    return t.single("ep-alpha", entry)


def _deep_request(t: Traffic) -> bytes:
    return b'{"model": "churn", "endpoint_id": "ep-alpha", "request": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001


RECORD_CLASSES: list[Callable[[Traffic], Case]] = [
    _whole("not_json", lambda t: b"model=churn;inputs=1,2", "not valid JSON"),
    _whole("not_utf8", lambda t: b"\xff\xfe" + dump(_valid_record(t)), "not UTF-8"),
    _whole("utf16", lambda t: dump(_valid_record(t)).decode().encode("utf-16"), "not UTF-8"),
    _whole("bom_prefixed", lambda t: b"\xef\xbb\xbf" + dump(_valid_record(t)), "not valid JSON"),
    _whole("concatenated_records", lambda t: dump(_valid_record(t)) * 2, "not valid JSON"),
    _whole("truncated", lambda t: dump(_valid_record(t))[:-7], "not valid JSON"),
    _whole("empty_body", lambda t: b"", "not valid JSON"),
    _whole("nul_bytes", lambda t: b"\x00" * 16, "not valid JSON"),
    _whole("json_list", lambda t: dump([_valid_record(t)]), "expected an object"),
    _whole("json_number", lambda t: t.rng.choice([b"3.5", b"-1", b"1e999"]), "expected an object"),
    _whole("json_null", lambda t: b"null", "expected an object"),
    _whole("json_string", lambda t: dump(dump(_valid_record(t)).decode()), "expected an object"),
    _whole("json_bool", lambda t: t.rng.choice([b"true", b"false"]), "expected an object"),
    _whole("empty_object", lambda t: b"{}", "no model name"),
    _whole("missing_model", lambda t: _without(_valid_record(t), "model"), "no model name"),
    _whole("model_not_text", lambda t: {**_valid_record(t), "model": t.rng.choice([5, ["m"], {}, True])},
           "no model name"),
    _whole("missing_request", lambda t: _without(t.single("ep-alpha", t.request("ep-alpha")[0]), "request"),
           "no 'request' object"),
    _whole("unknown_shape", lambda t: {"model": "churn", "endpoint_id": "ep-alpha", "payload": [1, 2]},
           "no 'request' object"),
    _whole("single_inputs_wrong_type", _single_inputs, "request.inputs must be a non-empty list"),
    _whole("single_rows_mismatch", _single_rows_mismatch, "2 input rows but 3 output rows"),
    _whole("deep_nesting_list", lambda t: b"[" * 50_000 + b"]" * 50_000, "nested too deep"),
    _whole("deep_nesting_request", _deep_request, "nested too deep"),
    _whole("wrong_kind", lambda t: _valid_record(t, kind=t.rng.choice(["window", "dead-letter", "Tracking"])),
           "expected a tracking event"),
    _whole("headers_not_list", lambda t: {**_valid_record(t), "headers": "request,resp,when"}, "'headers' must be"),
    _whole("headers_not_text", lambda t: {**_valid_record(t), "headers": ["request", 5, None, "when", "microsec",
                                                                          "metrics", "error"]}, "'headers' must be"),
    _whole("values_not_list", lambda t: {**_valid_record(t), "values": {"0": 1}}, "'values' must be a list"),
    _whole("values_empty", lambda t: {**_valid_record(t), "values": []}, "no requests"),
    _whole("labels_not_dict", lambda t: _valid_record(t, labels=t.rng.choice([["a"], "team=risk", 7])),
           "'labels' must be an object"),
    _whole("record_id_invalid", lambda t: _valid_record(t, record_id=t.rng.choice(
        [5, "", "a/b", "x" * 65, "é", True, "id\n", ["r"]])), "record_id"),
    _whole("function_uri_not_text", lambda t: {**_valid_record(t, HASHED), "function_uri": ["proj/fuzz"]},
           "'function_uri' must be text"),
    _whole("function_uri_unusable", lambda t: {**_valid_record(t, HASHED), "function_uri": "/"},
           "needs a project, a function"),
    _whole("lone_surrogate", lambda t: {**_valid_record(t), "model": "churn\ud800"}, "surrogate"),
    _whole("endpoint_id_traversal", lambda t: _valid_record(t, endpoint_id=t.rng.choice(
        ["../x", "../../etc/passwd", "..", "x/../../y"])), "is not a valid name"),
    _whole("endpoint_id_slash", lambda t: _valid_record(t, endpoint_id=t.rng.choice(["a/b", "/abs", "a\\b"])),
           "is not a valid name"),
    _whole("endpoint_id_newline", lambda t: _valid_record(t, endpoint_id=t.rng.choice(["ep\n", "ep\r\nx", "\nep"])),
           "is not a valid name"),
    _whole("endpoint_id_control", lambda t: _valid_record(t, endpoint_id=t.rng.choice(["a\x00b", "ep\t", "e\x1bp"])),
           "is not a valid name"),
    _whole("endpoint_id_300_chars", lambda t: _valid_record(t, endpoint_id="e" * 300), "is not a valid name"),
    _whole("endpoint_id_unicode", lambda t: _valid_record(t, endpoint_id=t.rng.choice(["ёж-1", "ep-✓", "ｅｐ"])),
           "is not a valid name"),
    _whole("endpoint_id_spaces_dots", lambda t: _valid_record(t, endpoint_id=t.rng.choice([" ep", "ep x", ".", "-ep"])),
           "is not a valid name"),
    _whole("endpoint_id_not_text", lambda t: _valid_record(t, endpoint_id=t.rng.choice([42, ["ep"], {"id": 1}])),
           "'endpoint_id' must be text"),
]


def all_bad_new_endpoint(t: Traffic) -> Case:
    """Every request bad, for an endpoint never seen: all dead-lettered and no endpoint record left behind."""
    entries = [t.request("ep-alpha")[0] for _ in range(t.rng.randint(1, 3))]
    for entry in entries:
        entry["request"]["inputs"] = [[NAN, 1.0, 2.0]]
    body = t.record(f"ep-never-valid-{t.rng.randrange(10**6)}", entries)
    return Case("all_bad_new_endpoint", [dump(body)], letters=len(entries), reason="non-finite")


def dict_body_no_model(t: Traffic) -> Case:
    return Case("dict_body_no_model", [_without(_valid_record(t), "model")], letters=1, reason="no model name")


RECORD_CLASSES += [all_bad_new_endpoint, dict_body_no_model]


#: Classes that cost seconds: sent once.
ONCE = {"huge_model_name", "huge_text_value", "oversized_record", "deep_nesting_list", "deep_nesting_request",
        "ten_thousand_features"}
ALL_CLASSES = [*RECORD_CLASSES, *map(request_class, REQUEST_CLASSES), *ODD_BUT_VALID]
