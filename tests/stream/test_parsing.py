"""Reading records: the fast numpy path and the checked path agree; times convert in one pass."""

from __future__ import annotations

import json

import numpy as np
from ingest_fixtures import batched, entry

from modelmon.core.timeutil import to_ms
from modelmon.stream import RawRecord
from modelmon.stream.parsing import parse_record
from modelmon.stream.times import TimeBounds


def _record(n: int = 30) -> dict:
    rng = np.random.default_rng(3)
    entries = [entry(i, rng.normal(size=4).round(4).tolist(), [float(i % 3)], to_ms("2024-01-01") + 1000 * i, 10 + i)
               for i in range(n)]
    entries[n // 2]["request"]["inputs"] = [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]  # a multi-row request
    entries[n // 2]["resp"]["outputs"] = [1.0, 2.0]
    return batched(entries, endpoint_id="ep")


def test_fast_path_matches_the_checked_path():
    data = _record()
    fast = parse_record(RawRecord(json.dumps(data).encode()), "proj")
    assert fast.features is not None  # took the fast path
    checked = parse_record(RawRecord(json.dumps({**data, "labels": {"flag": True}}).encode()), "proj")
    assert checked.features is None  # a boolean anywhere in the body: the checked path
    for field in ("request_ids", "inputs", "outputs", "when", "microsec", "errors", "endpoint_id", "model"):
        assert getattr(fast.event, field) == getattr(checked.event, field), field
    np.testing.assert_array_equal(fast.when_ms, checked.when_ms)
    rows = np.array([row for value in checked.event.inputs for row in (value if isinstance(value[0], list)
                                                                       else [value])])
    np.testing.assert_array_equal(fast.features, rows)
    assert fast.features.shape == (31, 4) and fast.outputs.shape == (31, 1)


def test_when_accepts_mlrun_text_iso_with_offset_and_epoch_ms():
    entries = [entry(0, [1.0], [0], "2024-03-01 12:00:00.250000"), entry(1, [1.0], [0], "2024-03-01T13:00:00+01:00"),
               entry(2, [1.0], [0], 1_709_294_400_000)]
    parsed = parse_record(RawRecord(json.dumps(batched(entries)).encode()), "proj")
    assert parsed.when_ms.tolist() == [1_709_294_400_250, 1_709_294_400_000, 1_709_294_400_000]


def test_body_already_decoded_by_nuclio_and_text_bodies():
    data = _record(3)
    for body in (data, json.dumps(data)):
        parsed = parse_record(RawRecord(body), "proj")
        assert parsed.event is not None and len(parsed.event) == 3 and not parsed.rejections


def test_batch_id_is_the_stream_position_or_the_body_hash():
    body = json.dumps(_record(2)).encode()
    assert RawRecord(body, shard=3, sequence=9).batch_id == "s3-9"
    decoded = json.loads(body)  # a body Nuclio decoded: hashed as sorted JSON, whatever the key order
    assert RawRecord(decoded).batch_id == RawRecord(dict(reversed(decoded.items()))).batch_id
    assert RawRecord(body).batch_id == RawRecord(body).batch_id != RawRecord(body + b" ").batch_id


def test_fast_time_conversion_reads_text_as_pandas_does():
    """Naive ISO text takes one numpy cast; anything else falls back to pandas: the values must not differ."""
    from modelmon.stream.times import _pandas_ms, when_to_ms

    cases = ["2024-03-01 00:00:00.010000", "2024-03-01T00:00:00", "2024-03-01", "2024-03-01T00", "2024-03-01 00:00",
             "2024-3-1", "2024-03-01 ", "2024-03-01 24:00:00", "2024-02-30", "1960-01-01 00:00:00.0005", "1500-01-01",
             "2024-03-01 00:00:00.123456789", "9999-12-31", "2024-03-01 00:00:00+02:00", "2024-03-01T00:00:00Z",
             "2024-03", "2024", "NaT", "soon"]
    for case in cases:  # alone, and among clean values (the whole record then takes one path)
        expected = np.floor(_pandas_ms([case]))
        np.testing.assert_array_equal(when_to_ms([case]), expected, err_msg=case)
        mixed = when_to_ms(["2024-03-01 00:00:01", case])
        np.testing.assert_array_equal(mixed, [1709251201000.0, expected[0]], err_msg=case)


NOW = to_ms("2026-06-01 12:00:00")
BOUNDS = TimeBounds(max_age_ms=7 * 86_400_000, max_skew_ms=5 * 60_000,
                    settings=("MODELMON_MAX_EVENT_AGE_MINUTES", "MODELMON_MAX_EVENT_SKEW_MINUTES"))


def test_times_outside_the_bounds_are_rejected_one_by_one_naming_time_bound_and_setting():
    whens = [NOW - 1000, NOW + 86_400_000, NOW + 4 * 60_000, NOW - 8 * 86_400_000, "2200-01-01 00:00:00",
             253402300799000, -5e12, 1e20, "9999-12-31T23:59:59"]
    entries = [entry(i, [1.0, 2.0], [0.0], when) for i, when in enumerate(whens)]
    parsed = parse_record(RawRecord(json.dumps(batched(entries, endpoint_id="ep")).encode()), "proj", BOUNDS, NOW)
    assert parsed.event.request_ids == ["r0", "r2"]  # within 7 days back and 5 minutes ahead
    assert parsed.when_ms.tolist() == [NOW - 1000, NOW + 4 * 60_000]
    reasons = [r.reason for r in parsed.rejections]
    assert len(reasons) == 7
    ahead = "'when' {} ({}) is {} after the time it was read (2026-06-01T12:00:00Z): at most 5m 0s ahead is " \
            "accepted (MODELMON_MAX_EVENT_SKEW_MINUTES)"
    assert f"request 'r1': {ahead.format(NOW + 86_400_000, '2026-06-02T12:00:00Z', '1d 0h')}" in reasons
    assert any(r.startswith("request 'r3': ") and "8d 0h before the time it was read" in r
               and "at most 7d 0h back is accepted (MODELMON_MAX_EVENT_AGE_MINUTES)" in r for r in reasons)
    for request in ("r4", "r5", "r8"):  # far future, as text or numbers: ahead, never an overflow
        assert any(r.startswith(f"request {request!r}: ") and "after the time it was read" in r for r in reasons)
    assert any(r.startswith("request 'r6': ") and "before the time it was read" in r for r in reasons)  # 1811
    assert "request 'r7': 'when' 1e+20 is not a timestamp (epoch milliseconds, or ISO-8601 text, in the years " \
           "1-9999)" in reasons
    for rejection in parsed.rejections:  # each dead letter is the one request, replayable alone
        assert len(json.loads(rejection.payload)["values"]) == 1


def test_without_bounds_any_real_date_is_accepted():
    entries = [entry(0, [1.0], [0.0], NOW + 86_400_000), entry(1, [1.0], [0.0], -5e12)]
    parsed = parse_record(RawRecord(json.dumps(batched(entries)).encode()), "proj")
    assert parsed.when_ms.tolist() == [NOW + 86_400_000, -5e12] and not parsed.rejections


def test_json_nested_50k_deep_is_rejected_with_a_reason_not_a_recursion_error():
    for body in (b"[" * 50_000 + b"]" * 50_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000):
        parsed = parse_record(RawRecord(body), "proj")
        assert parsed.event is None
        assert [r.reason.split(":")[0] for r in parsed.rejections] == ["body is not a tracking record"]
        assert parsed.rejections[0].payload == body
