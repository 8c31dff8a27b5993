"""Adversarial tracking input that is nevertheless valid, for the fuzz test: every request is stored once."""

from __future__ import annotations

import dataclasses

from fuzz_requests import request_class
from fuzz_traffic import ENDPOINTS, HASHED, MINUTE, NUMERIC, Case, Traffic, dump


def duplicate_request_ids(t: Traffic) -> Case:
    """Two requests with one id: a request id is data, not a key; both are stored."""
    endpoint_id = t.rng.choice(NUMERIC)
    request_id = t.request_id("dup-")
    pairs = [t.request(endpoint_id, request_id=request_id) for _ in range(2)]
    return Case("duplicate_request_ids", [dump(t.record(endpoint_id, [p[0] for p in pairs]))], [p[1] for p in pairs])


def resent_record_id(t: Traffic) -> Case:
    """The producer's retry stored the record twice (two positions, one record_id): counted once."""
    endpoint_id = t.rng.choice(ENDPOINTS)
    entries, valid = t.requests(endpoint_id, t.rng.randint(1, 5))
    body = dump(t.record(endpoint_id, entries, record_id=t.request_id("rec-")))
    return Case("resent_record_id", [body, body], valid, duplicates=1)


def redelivered_record(t: Traffic) -> Case:
    """The platform delivered a record again at its position (no ack before a restart): counted once."""
    endpoint_id = t.rng.choice(ENDPOINTS)
    entries, valid = t.requests(endpoint_id, t.rng.randint(1, 5))
    body = dump(t.record(endpoint_id, entries))
    return Case("redelivered_record", [body, body], valid, mode="redeliver", duplicates=1)


def huge_model_name(t: Traffic) -> Case:
    """A 2 MB model name on an endpoint of its own (its id is given): refused whole, it would name the
    endpoint in every window event, past a stream record's 1 MB."""
    pairs = [t.request("ep-bigname", when_ms=t.now - minutes * MINUTE) for minutes in (40, 2)]  # two windows
    entries = [p[0] for p in pairs]
    return Case("huge_model_name", [dump(t.record("ep-bigname", entries, model="m" * 2_000_000))], letters=1,
                reason="field 'model' is 2,000,000 characters long; at most 256 are accepted")


def huge_text_value(t: Traffic) -> Case:
    """A 2 MB value of a text feature."""
    entry, valid = t.request("ep-gamma")
    big = "x" * 2_000_000
    inputs = entry["request"]["inputs"]
    (inputs[0] if isinstance(inputs[0], list) else inputs)[1] = big
    row = valid.rows[0]  # (request_id, timestamp, latency_us, f0, f1, p0)
    valid = dataclasses.replace(valid, rows=((*row[:4], big, *row[5:]), *valid.rows[1:]))
    return Case("huge_text_value", [dump(t.record("ep-gamma", [entry]))], [valid])


def oversized_record(t: Traffic) -> Case:
    """20,000 requests in one record."""
    entries, valid = t.requests("ep-alpha", 20_000)
    return Case("oversized_record", [dump(t.record("ep-alpha", entries))], valid)


def big_int_feature(t: Traffic) -> Case:
    """An integer beyond 64 bits that a float still holds (2**70): read as that float."""
    entry, valid = t.request("ep-alpha")
    inputs = entry["request"]["inputs"]
    (inputs[0] if isinstance(inputs[0], list) else inputs)[0] = 2**70
    row = valid.rows[0]  # (request_id, timestamp, latency_us, f0, ...)
    valid = dataclasses.replace(valid, rows=((*row[:3], float(2**70), *row[4:]), *valid.rows[1:]))
    return Case("big_int_feature", [dump(t.record("ep-alpha", [entry]))], [valid])


def empty_endpoint_id(t: Traffic) -> Case:
    """``endpoint_id: ""`` is no id: the endpoint is MLRun's hash of function, model and version."""
    entries, valid = t.requests(HASHED, t.rng.randint(1, 3))
    return Case("empty_endpoint_id", [dump(t.record(HASHED, entries, endpoint_id=""))], valid)


def deep_labels(t: Traffic) -> Case:
    """Labels nested 600 levels (under the 1,024 the decoder reads)."""
    endpoint_id = t.rng.choice(ENDPOINTS)
    entries, valid = t.requests(endpoint_id, 2)
    body = dump(t.record(endpoint_id, entries, labels={"x": "DEEP"}))
    return Case("deep_labels", [body.replace(b'"DEEP"', b"[" * 600 + b"]" * 600)], valid)


def unicode_everywhere(t: Traffic) -> Case:
    """Non-ASCII model name, labels and request ids (control characters included): all data."""
    endpoint_id = t.rng.choice(NUMERIC)
    pairs = [t.request(endpoint_id, request_id=t.request_id("ид-✓\t\n")) for _ in range(2)]
    body = t.record(endpoint_id, [p[0] for p in pairs], labels={"команда": "риск ✓"})
    if endpoint_id != HASHED:
        body["model"] = "模型 ✓"
    return Case("unicode_everywhere", [dump(body)], [p[1] for p in pairs])


def reordered_headers(t: Traffic) -> Case:
    """The batched shape names its columns: any order, and columns modelmon does not read, are fine."""
    endpoint_id = t.rng.choice(ENDPOINTS)
    entries, valid = t.requests(endpoint_id, t.rng.randint(1, 5))
    record = t.record(endpoint_id, entries)
    columns = [*zip(record["headers"], zip(*record["values"], strict=True), strict=True),
               ("extra", tuple(range(len(entries))))]
    t.rng.shuffle(columns)
    record["headers"] = [name for name, _ in columns]
    record["values"] = [list(row) for row in zip(*(values for _, values in columns), strict=True)]
    return Case("reordered_headers", [dump(record)], valid)


def no_latency(t: Traffic) -> Case:
    """``microsec: null``: counted, no latency (stored as NaN, left out of the latency sum)."""
    endpoint_id = t.rng.choice(ENDPOINTS)
    entries, valid = t.requests(endpoint_id, t.rng.randint(1, 3))
    for entry in entries:
        entry["microsec"] = None
    valid = [dataclasses.replace(v, microsec=0, rows=tuple((*row[:2], None, *row[3:]) for row in v.rows))
             for v in valid]
    return Case("no_latency", [dump(t.record(endpoint_id, entries))], valid)


def missing_feature_value(t: Traffic) -> Case:
    """``null`` for a feature is a missing value (NaN in a numeric column)."""
    endpoint_id = t.rng.choice(NUMERIC)
    entry, valid = t.request(endpoint_id)
    inputs = entry["request"]["inputs"]
    rows = inputs if isinstance(inputs[0], list) else [inputs]
    at = t.rng.randrange(len(rows[0]))
    rows[0][at] = None
    row = valid.rows[0]
    valid = dataclasses.replace(valid, rows=((*row[:3 + at], None, *row[4 + at:]), *valid.rows[1:]))
    return Case("missing_feature_value", [dump(t.record(endpoint_id, [entry]))], [valid])


def odd_error_payload(t: Traffic) -> Case:
    """An error event's ``error`` is any JSON (kept as text): an object, a 100 kB trace."""
    endpoint_id = t.rng.choice(ENDPOINTS)
    entry, valid = t.request(endpoint_id, error=True)
    entry["error"] = t.rng.choice([{"type": "ValueError", "trace": ["a", "b"]}, "x" * 100_000, 42, ["e"]])
    return Case("odd_error_payload", [dump(t.record(endpoint_id, [entry]))], [valid])


def near_future(t: Traffic) -> Case:
    """Dated up to 4 minutes ahead (a producer's clock), inside the 5 minutes accepted."""
    endpoint_id = t.rng.choice(ENDPOINTS)
    entry, valid = t.request(endpoint_id, when_ms=t.now + t.rng.randint(0, 4 * MINUTE))
    return Case("near_future", [dump(t.record(endpoint_id, [entry]))], [valid])


def nuclio_batch_mixed(t: Traffic) -> Case:
    """Good and bad records in one handler call: each bad one dead-lettered, the good ones stored."""
    endpoint_id = t.rng.choice(NUMERIC)
    entries, valid = t.requests(endpoint_id, 2)
    bad = request_class("nan_feature")(t)
    return Case("nuclio_batch_mixed", [dump(t.record(endpoint_id, entries)), b"not json", *bad.bodies],
                [*valid, *bad.valid], letters=2, reason="", mode="nuclio_batch")


ODD_BUT_VALID = [duplicate_request_ids, resent_record_id, redelivered_record, huge_model_name, huge_text_value,
                 oversized_record, big_int_feature, empty_endpoint_id, deep_labels, unicode_everywhere,
                 reordered_headers, no_latency, missing_feature_value, odd_error_payload, near_future,
                 nuclio_batch_mixed]
