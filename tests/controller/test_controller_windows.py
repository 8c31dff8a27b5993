"""Window alignment and closing rules of the controller, on the local backend with a hand-moved clock."""

from __future__ import annotations

import pandas as pd
import pytest
from controller_fixtures import MINUTE, PERIOD, T0, add_requests, dispatched, make_controller, put_endpoint, schedule

from modelmon.controller.schedule import MAX_WINDOWS_PER_RUN
from modelmon.controller.windows import ClosingRule, floor_to


def test_windows_close_at_the_watermark_and_align_to_the_epoch(backend, paths, clock, registry):
    registry.register("drift", "mod:App")
    put_endpoint(backend, paths, "ep1", first=T0 + 7 * MINUTE, watermark=T0 + 2 * PERIOD + 5 * MINUTE)
    add_requests(backend, paths, "ep1", [T0 + 7 * MINUTE, T0 + PERIOD + MINUTE, T0 + 2 * PERIOD + MINUTE])
    clock.now = T0 + 2 * PERIOD + 6 * MINUTE

    report = make_controller(backend, paths, clock).run()

    windows = [(w.start_ms, w.end_ms) for w in dispatched(backend, paths, "drift")]
    assert windows == [(T0, T0 + PERIOD), (T0 + PERIOD, T0 + 2 * PERIOD)]  # the third is still open
    assert report.windows_dispatched == 2
    item = schedule(backend, paths, "ep1", "drift")
    assert item["last_analyzed_ms"] == T0 + 2 * PERIOD
    assert backend.kv.get(paths.claims_table, item["claim_id"])["windows"] == 2  # the push was confirmed


def test_empty_windows_are_skipped_but_advance_last_analyzed(backend, paths, clock, registry):
    registry.register("drift", "mod:App")
    put_endpoint(backend, paths, "ep1", first=T0, watermark=T0 + 4 * PERIOD)
    add_requests(backend, paths, "ep1", [T0 + MINUTE, T0 + 3 * PERIOD + 9 * MINUTE])
    clock.now = T0 + 4 * PERIOD

    report = make_controller(backend, paths, clock).run()

    assert [w.start_ms for w in dispatched(backend, paths, "drift")] == [T0, T0 + 3 * PERIOD]
    assert report.windows_empty == 2
    assert schedule(backend, paths, "ep1", "drift")["last_analyzed_ms"] == T0 + 4 * PERIOD


def test_idle_endpoint_gets_its_last_window_closed_after_the_grace_period(backend, paths, clock, registry):
    registry.register("drift", "mod:App")
    put_endpoint(backend, paths, "ep1", first=T0, watermark=T0 + PERIOD + 4 * MINUTE)
    add_requests(backend, paths, "ep1", [T0, T0 + PERIOD + 3 * MINUTE])
    controller = make_controller(backend, paths, clock, grace_minutes=30)

    clock.now = T0 + PERIOD + 5 * MINUTE
    assert controller.run().windows_dispatched == 1  # [T0, T0+P): the watermark passed it
    clock.now += 30 * MINUTE - 1  # the watermark has stood still for just under the grace period
    assert controller.run().windows_dispatched == 0
    clock.now += 1
    assert controller.run().windows_dispatched == 1
    assert [w.start_ms for w in dispatched(backend, paths, "drift")] == [T0, T0 + PERIOD]
    # only the window holding the watermark is closed by the clock; later (empty) ones wait for traffic
    assert schedule(backend, paths, "ep1", "drift")["last_analyzed_ms"] == T0 + 2 * PERIOD


def test_a_moving_watermark_resets_the_idle_clock(backend, paths, clock, registry):
    registry.register("drift", "mod:App")
    put_endpoint(backend, paths, "ep1", first=T0, watermark=T0 + 2 * MINUTE)
    add_requests(backend, paths, "ep1", [T0, T0 + 5 * MINUTE])
    controller = make_controller(backend, paths, clock, grace_minutes=30)
    clock.now = T0 + 3 * MINUTE
    controller.run()
    clock.now += 25 * MINUTE
    put_endpoint(backend, paths, "ep1", first=T0, watermark=T0 + 6 * MINUTE)  # more samples flushed
    controller.run()
    clock.now += 25 * MINUTE  # 50 min after the first sight, 25 after the watermark last moved
    assert controller.run().windows_dispatched == 0
    clock.now += 5 * MINUTE
    assert controller.run().windows_dispatched == 1


def test_a_new_app_starts_at_the_later_of_first_request_and_backfill(backend, paths, clock, registry):
    registry.register("drift", "mod:App")
    put_endpoint(backend, paths, "old", first=T0 - 100 * PERIOD, watermark=T0)
    put_endpoint(backend, paths, "new", first=T0 - 2 * PERIOD + 3 * MINUTE, watermark=T0)
    for ep, first in (("old", T0 - 100 * PERIOD), ("new", T0 - 2 * PERIOD + 3 * MINUTE)):
        add_requests(backend, paths, ep, list(range(first, T0, PERIOD)))
    clock.now = T0 + MINUTE + 30_000

    make_controller(backend, paths, clock, backfill_minutes=60).run()

    by_endpoint: dict[str, list[int]] = {}
    for w in dispatched(backend, paths, "drift"):
        by_endpoint.setdefault(w.endpoint_id, []).append(w.start_ms)
    assert by_endpoint["old"] == [T0 - 6 * PERIOD + k * PERIOD for k in range(6)]  # floor(now - 60 min)
    assert by_endpoint["new"] == [T0 - 2 * PERIOD, T0 - PERIOD]  # its first request, floored


def test_endpoints_without_flushed_samples_are_left_alone(backend, paths, clock, registry):
    registry.register("drift", "mod:App")
    put_endpoint(backend, paths, "ep1", first=T0, watermark=None)
    clock.now = T0 + 5 * PERIOD
    report = make_controller(backend, paths, clock).run()
    assert (report.pairs_written, report.windows_dispatched) == (0, 0)
    assert schedule(backend, paths, "ep1", "drift") is None


def test_app_selection_period_and_enabled_flag(backend, paths, clock, registry):
    registry.register("all", "mod:App")
    registry.register("only_b", "mod:App", endpoints=["model-b"])
    registry.register("prod", "mod:App", label_selector={"env": "prod"})
    registry.register("hourly", "mod:App", base_period_minutes=60)
    registry.register("off", "mod:App", enabled=False)
    put_endpoint(backend, paths, "a", name="model-a", first=T0, watermark=T0 + 12 * PERIOD, labels={"env": "prod"})
    put_endpoint(backend, paths, "b", name="model-b", first=T0, watermark=T0 + 12 * PERIOD, labels={"env": "dev"})
    for ep in ("a", "b"):
        add_requests(backend, paths, ep, list(range(T0, T0 + 12 * PERIOD, PERIOD)))
    clock.now = T0 + 12 * PERIOD

    make_controller(backend, paths, clock).run()

    def endpoints_of(app):
        return sorted({w.endpoint_id for w in dispatched(backend, paths, app)})

    assert endpoints_of("all") == ["a", "b"]
    assert endpoints_of("only_b") == ["b"]
    assert endpoints_of("prod") == ["a"]
    assert dispatched(backend, paths, "off") == []
    hourly = [(w.start_ms, w.end_ms) for w in dispatched(backend, paths, "hourly") if w.endpoint_id == "a"]
    hour = 6 * PERIOD
    assert hourly == [(s, s + hour) for s in range(floor_to(T0, hour), floor_to(T0 + 12 * PERIOD, hour), hour)]


def test_an_app_period_that_is_not_a_multiple_is_refused(registry):
    with pytest.raises(ValueError, match="not a multiple"):
        registry.register("odd", "mod:App", base_period_minutes=15)


def test_closing_rule_rejects_bad_periods():
    with pytest.raises(ValueError, match="period_ms"):
        ClosingRule(period_ms=0, grace_ms=0, backfill_ms=0)


def test_a_damaged_endpoint_record_does_not_stop_the_run(backend, paths, clock, registry):
    registry.register("drift", "mod:App")
    backend.kv.put(paths.endpoints_table, "bad", {"labels": "{not json", "first_request_ms": "yesterday",
                                                  "watermark_ms": T0 + PERIOD})
    put_endpoint(backend, paths, "good", first=T0, watermark=T0 + PERIOD)
    add_requests(backend, paths, "good", [T0])
    clock.now = T0 + PERIOD
    report = make_controller(backend, paths, clock).run()
    assert report.endpoints == 2
    assert [w.endpoint_id for w in dispatched(backend, paths, "drift")] == ["good"]


def test_a_window_holding_only_failed_requests_is_dispatched(backend, paths, clock, registry):
    # the stream function counts failed requests in the errors TSDB only (not in predictions): a window
    # where the model failed every request is the outage system-performance exists to report
    registry.register("perf", "mod:App")
    put_endpoint(backend, paths, "ep1", first=T0, watermark=T0 + 3 * PERIOD)
    add_requests(backend, paths, "ep1", [T0 + MINUTE])
    backend.tsdb.create_table(paths.errors_tsdb)
    backend.tsdb.write(paths.errors_tsdb, pd.DataFrame({"time": [T0 + PERIOD + 90_500], "endpoint_id": "ep1",
                                                        "batch_id": "b1", "count": [4]}),
                       labels=["endpoint_id", "batch_id"])
    clock.now = T0 + 3 * PERIOD

    report = make_controller(backend, paths, clock).run()

    assert [w.start_ms for w in dispatched(backend, paths, "perf")] == [T0, T0 + PERIOD]
    assert report.windows_empty == 1


def test_a_watermark_ahead_of_the_clock_never_closes_windows_that_have_not_happened(backend, paths, clock, registry):
    registry.register("drift", "mod:App")
    year_9999 = 253_402_300_799_000
    put_endpoint(backend, paths, "ahead", first=T0, watermark=year_9999)
    add_requests(backend, paths, "ahead", [T0 + MINUTE, T0 + 2 * PERIOD + MINUTE])
    clock.now = T0 + 3 * PERIOD + 5 * MINUTE

    report = make_controller(backend, paths, clock).run()

    assert [w.start_ms for w in dispatched(backend, paths, "drift")] == [T0, T0 + 2 * PERIOD]
    assert report.windows_empty == 1  # [T0 + PERIOD, T0 + 2 PERIOD); the window holding `now` is open
    assert schedule(backend, paths, "ahead", "drift")["last_analyzed_ms"] == T0 + 3 * PERIOD


def test_one_run_plans_a_bounded_number_of_windows_per_pair_and_the_next_runs_resume(backend, paths, clock,
                                                                                     registry):
    registry.register("drift", "mod:App")
    days = 12  # 12 days of 10-minute windows: 1,728 windows, more than one run plans
    put_endpoint(backend, paths, "long", first=T0, watermark=T0 + days * 144 * PERIOD)
    add_requests(backend, paths, "long", list(range(T0, T0 + days * 144 * PERIOD, PERIOD)))
    clock.now = T0 + days * 144 * PERIOD

    controller = make_controller(backend, paths, clock, backfill_minutes=days * 24 * 60)
    first = controller.run()
    assert first.windows_dispatched == MAX_WINDOWS_PER_RUN
    assert schedule(backend, paths, "long", "drift")["last_analyzed_ms"] == T0 + MAX_WINDOWS_PER_RUN * PERIOD
    second = controller.run()
    assert second.windows_dispatched == days * 144 - MAX_WINDOWS_PER_RUN
    starts = [w.start_ms for w in dispatched(backend, paths, "drift")]
    assert starts == list(range(T0, T0 + days * 144 * PERIOD, PERIOD))  # each window once, in order


def test_a_pair_whose_planning_raises_is_recorded_and_the_other_endpoints_go_on(backend, paths, clock, registry,
                                                                                monkeypatch):
    """Fault injection: planning one endpoint raises (whatever the cause); the run still covers the rest."""
    from modelmon.controller import controller as controller_module

    real = controller_module.plan_pair

    def failing_for_bad(**kwargs):
        if kwargs["endpoint_id"] == "bad":
            raise OverflowError("a record the planner cannot handle")
        return real(**kwargs)

    monkeypatch.setattr(controller_module, "plan_pair", failing_for_bad)
    registry.register("drift", "mod:App")
    for ep in ("a", "bad", "z"):
        put_endpoint(backend, paths, ep, first=T0, watermark=T0 + PERIOD)
        add_requests(backend, paths, ep, [T0 + MINUTE])
    clock.now = T0 + PERIOD + MINUTE

    report = make_controller(backend, paths, clock).run()

    assert sorted(w.endpoint_id for w in dispatched(backend, paths, "drift")) == ["a", "z"]
    assert report.pairs_failed == 1
    failure = schedule(backend, paths, "bad", "drift")
    assert failure["error"] == "OverflowError: a record the planner cannot handle" and failure["error_ms"] == clock.now
