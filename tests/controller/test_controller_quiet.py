"""A controller process plans a pair with nothing due again only once it can be due (its endpoint's record changed,
a boundary, grace or lease came, a backfill was marked, or ``refresh_ms`` passed), and dispatches then what a
fresh controller would."""

from __future__ import annotations

from controller_fixtures import MINUTE, PERIOD, T0, add_requests, dispatched, make_controller, put_endpoint

from modelmon.backends import scan_all
from modelmon.controller.backfill import backfill
from modelmon.controller.quiet import NEVER, quiet_until
from modelmon.controller.schedule import PairState
from modelmon.controller.windows import ClosingRule

NO_REFRESH = 10**12  # what is remembered is the only reason to plan again


def _starts(backend, paths, endpoint_id="ep"):
    return [w.start_ms for w in dispatched(backend, paths, "drift") if w.endpoint_id == endpoint_id]


def _setup(backend, paths, clock, registry):
    registry.register("drift", "mod:App")
    put_endpoint(backend, paths, "ep", first=T0 + MINUTE, watermark=T0 + 2 * MINUTE)
    add_requests(backend, paths, "ep", [T0 + MINUTE, T0 + PERIOD + MINUTE, T0 + 2 * PERIOD + MINUTE])
    clock.now = T0 + 3 * MINUTE


def test_a_new_watermark_past_a_window_end_is_dispatched_at_the_next_run(backend, paths, clock, registry):
    _setup(backend, paths, clock, registry)
    controller = make_controller(backend, paths, clock, refresh_ms=NO_REFRESH)
    for _ in range(3):  # the pair written, then planned nothing for: quiet
        controller.run()
    clock.now = T0 + PERIOD + 2 * MINUTE
    controller.run()
    assert _starts(backend, paths) == []  # the watermark still in the first window, no grace passed
    put_endpoint(backend, paths, "ep", first=T0 + MINUTE, watermark=T0 + PERIOD + MINUTE)
    report = controller.run()
    assert report.windows_dispatched == 1 and _starts(backend, paths) == [T0]


def test_an_idle_endpoint_closes_by_the_grace_in_a_quiet_process_as_in_a_fresh_one(backend, paths, clock, registry):
    _setup(backend, paths, clock, registry)
    controller = make_controller(backend, paths, clock, refresh_ms=NO_REFRESH)
    for minute in range(3, 34):  # a run a minute, the watermark standing still
        clock.now = T0 + minute * MINUTE
        controller.run()
    assert _starts(backend, paths) == [T0]  # closed once the 30-minute grace passed


def _quiet_after_two_windows(backend, paths, clock, registry, refresh_ms):
    """A controller that dispatched endpoint ``ep``'s two closed windows, then ran twice with nothing due."""
    _setup(backend, paths, clock, registry)
    put_endpoint(backend, paths, "ep", first=T0 + MINUTE, watermark=T0 + 2 * PERIOD + 2 * MINUTE)
    clock.now = T0 + 2 * PERIOD + 3 * MINUTE
    controller = make_controller(backend, paths, clock, refresh_ms=refresh_ms)
    for _ in range(3):
        controller.run()
    return controller


def test_a_backfill_is_dispatched_at_the_next_run_of_a_quiet_process(backend, paths, clock, registry):
    controller = _quiet_after_two_windows(backend, paths, clock, registry, NO_REFRESH)
    assert _starts(backend, paths) == [T0, T0 + PERIOD]

    backfill(backend, "test", "ep", T0, now=clock.now)
    controller.run()
    assert _starts(backend, paths) == [T0, T0 + PERIOD, T0, T0 + PERIOD]


def test_a_schedule_another_process_set_back_is_planned_within_refresh_ms(backend, paths, clock, registry):
    controller = _quiet_after_two_windows(backend, paths, clock, registry, MINUTE)
    [(key, item)] = list(scan_all(backend.kv, paths.schedules_table))
    backend.kv.put(paths.schedules_table, key, {**item, "last_analyzed_ms": T0 + PERIOD})
    clock.advance(MINUTE)
    controller.run()
    assert _starts(backend, paths) == [T0, T0 + PERIOD, T0 + PERIOD]


def test_quiet_until_is_the_next_boundary_grace_or_lease():
    rule = ClosingRule(PERIOD, 30 * MINUTE, 0)
    now = T0 + 3 * MINUTE
    state = PairState(T0, seen_watermark_ms=T0 + MINUTE, seen_at_ms=T0 + 2 * MINUTE)
    assert quiet_until(None, rule, now, 120_000, False) == NEVER
    assert quiet_until(state, ClosingRule(PERIOD, 0, 0), now, 120_000, False) == T0 + PERIOD
    assert quiet_until(state, ClosingRule(PERIOD, 5 * MINUTE, 0), now, 120_000, False) == T0 + 7 * MINUTE
    claimed = PairState(T0, claim_id="c", claimed_ms=now - MINUTE, seen_at_ms=now)
    assert quiet_until(claimed, rule, now, 2 * MINUTE, True) == now + MINUTE

