"""The stream function accepts event times within [now - max age, now + max skew] only (issue 11)."""

from __future__ import annotations

from ingest_fixtures import batched, entry

from modelmon.core.timeutil import now_ms

HOUR = 3_600_000


def test_requests_dated_too_far_ahead_or_back_are_dead_lettered_and_never_move_the_watermark(fn, monkeypatch):
    monkeypatch.setenv("MODELMON_MAX_EVENT_AGE_MINUTES", "60")
    monkeypatch.setenv("MODELMON_MAX_EVENT_SKEW_MINUTES", "5")
    now = now_ms()
    whens = {"ok": now - 1000, "tomorrow": now + 24 * HOUR, "two-hours-ago": now - 2 * HOUR,
             "year-9999": 253_402_300_799_000, "1811": -5_000_000_000_000}
    record = batched([entry(i, [1.0, 2.0], [0.0], when) for i, when in enumerate(whens.values())], endpoint_id="ep")

    fn.send(record, shard=0, offset=1)

    assert fn.samples("ep")["request_id"].tolist() == ["r0"]
    endpoint = fn.endpoint("ep")
    assert endpoint.request_count == 1 and endpoint.first_request_ms == now - 1000
    assert endpoint.watermark_ms <= now + 5 * 60_000
    letters = {letter.reason.split(":")[0]: letter.reason for letter in fn.dead_letters()}
    assert sorted(letters) == ["request 'r1'", "request 'r2'", "request 'r3'", "request 'r4'"]
    for request in ("r1", "r3"):
        assert "at most 5m 0s ahead is accepted (MODELMON_MAX_EVENT_SKEW_MINUTES)" in letters[f"request {request!r}"]
    for request in ("r2", "r4"):
        assert "at most 1h 0m back is accepted (MODELMON_MAX_EVENT_AGE_MINUTES)" in letters[f"request {request!r}"]


def test_the_default_bounds_take_a_week_old_replay_and_refuse_tomorrow(fn, monkeypatch):
    monkeypatch.delenv("MODELMON_MAX_EVENT_AGE_MINUTES")  # the defaults: 30 days back, 5 minutes ahead
    now = now_ms()
    record = batched([entry(0, [1.0, 2.0], [0.0], now - 7 * 24 * HOUR), entry(1, [1.0, 2.0], [0.0], now + 24 * HOUR)],
                     endpoint_id="ep")

    fn.send(record, shard=0, offset=1)

    assert fn.samples("ep")["request_id"].tolist() == ["r0"]
    assert [letter.reason.split(":")[0] for letter in fn.dead_letters()] == ["request 'r1'"]
