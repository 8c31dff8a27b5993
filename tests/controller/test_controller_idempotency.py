"""A window is dispatched once per app: across repeated runs, concurrent processes, failed pushes and crashes."""

from __future__ import annotations

import collections
import multiprocessing

import pytest
from controller_fixtures import (
    MINUTE,
    PERIOD,
    T0,
    add_requests,
    dispatched,
    make_controller,
    put_endpoint,
    schedule,
)

from modelmon.backends import make_backend
from modelmon.controller import Controller
from modelmon.core.config import Settings
from modelmon.core.errors import BackendUnavailable
from modelmon.core.paths import ProjectPaths
from modelmon.testing import ManualClock


class _FailingPuts:
    """A Stream whose put_records raises ``error`` (the other calls reach the real stream)."""

    def __init__(self, stream, error: BaseException) -> None:
        self._stream = stream
        self.error = error

    def put_records(self, path, records):
        raise self.error

    def __getattr__(self, name):
        return getattr(self._stream, name)


class _RaceBeforeWrite:
    """A KV that runs ``race`` (another controller's whole run) just before the ``at``-th ``update_many`` of
    ``table``; the other calls reach the real KV."""

    def __init__(self, kv, table: str, at: int, race) -> None:
        self._kv, self._table, self._at, self._race = kv, table, at, race
        self.calls = 0

    def update_many(self, table, updates):
        if table == self._table:
            self.calls += 1
            if self.calls == self._at:
                self._race()
        return self._kv.update_many(table, updates)

    def __getattr__(self, name):
        return getattr(self._kv, name)


class _Crash(BaseException):
    """Stands for the process dying between the claim and the push."""


def _setup_traffic(backend, paths, registry, endpoints: int, periods: int) -> None:
    registry.register("a1", "mod:App")
    registry.register("a2", "mod:App")
    for i in range(endpoints):
        ep = f"ep{i:04d}"
        put_endpoint(backend, paths, ep, first=T0, watermark=T0 + periods * PERIOD)
        add_requests(backend, paths, ep, [T0 + k * PERIOD + MINUTE for k in range(periods)])


def _window_counts(backend, paths, apps=("a1", "a2")) -> collections.Counter:
    return collections.Counter(w.key for app in apps for w in dispatched(backend, paths, app))


def test_running_twice_dispatches_nothing_new(backend, paths, clock, registry):
    _setup_traffic(backend, paths, registry, endpoints=5, periods=3)
    clock.now = T0 + 3 * PERIOD
    controller = make_controller(backend, paths, clock)
    first, second = controller.run(), controller.run()
    assert (first.windows_dispatched, second.windows_dispatched) == (30, 0)
    assert second.pairs_written == 0
    counts = _window_counts(backend, paths)
    assert len(counts) == 30 and set(counts.values()) == {1}


def test_a_controller_racing_between_claim_batches_takes_only_the_pairs_not_yet_claimed(backend, paths, clock,
                                                                                         registry, settings):
    _setup_traffic(backend, paths, registry, endpoints=10, periods=2)  # 20 pairs, 40 windows
    clock.now = T0 + 2 * PERIOD
    other_backend = make_backend(settings)  # a second process's connection to the same store
    other = make_controller(other_backend, paths, clock)
    reports = []
    racing = _RaceBeforeWrite(backend.kv, paths.schedules_table, at=3, race=lambda: reports.append(other.run()))
    backend.kv = racing
    try:
        first = make_controller(backend, paths, clock, claim_batch=3).run()
    finally:
        backend.kv = racing._kv
        other_backend.close()
    # the first two batches (6 pairs) were claimed before the other run, which skips claims still in flight
    assert racing.calls == 7 and first.claims_lost == 14 and first.windows_dispatched == 12
    assert reports[0].windows_dispatched == 28 and reports[0].claims_lost == 0
    counts = _window_counts(backend, paths)
    assert len(counts) == 40 and set(counts.values()) == {1}
    assert make_controller(backend, paths, clock).run().windows_dispatched == 0


def test_a_failed_push_gives_the_windows_back(backend, paths, clock, registry):
    _setup_traffic(backend, paths, registry, endpoints=3, periods=2)
    clock.now = T0 + 2 * PERIOD
    real = backend.streams
    backend.streams = _FailingPuts(real, BackendUnavailable("stream down"))
    report = make_controller(backend, paths, clock).run()
    assert report.push_failures == 2 and report.windows_dispatched == 0
    assert schedule(backend, paths, "ep0000", "a1")["last_analyzed_ms"] == T0
    assert schedule(backend, paths, "ep0000", "a1")["claim_id"] == ""

    backend.streams = real
    assert make_controller(backend, paths, clock).run().windows_dispatched == 12
    counts = _window_counts(backend, paths)
    assert len(counts) == 12 and set(counts.values()) == {1}


def test_a_crash_after_the_claim_is_redone_once_the_lease_expires(backend, paths, clock, registry):
    _setup_traffic(backend, paths, registry, endpoints=2, periods=2)
    clock.now = T0 + 2 * PERIOD
    real = backend.streams
    backend.streams = _FailingPuts(real, _Crash())
    with pytest.raises(_Crash):
        make_controller(backend, paths, clock, lease_ms=60_000).run()
    backend.streams = real
    pending = schedule(backend, paths, "ep0000", "a1")
    assert pending["claim_id"] and pending["pending_from_ms"] == T0 and pending["last_analyzed_ms"] == T0 + 2 * PERIOD

    clock.now += 59_999  # the claim might still belong to a live controller
    assert make_controller(backend, paths, clock, lease_ms=60_000).run().windows_dispatched == 0
    clock.now += 1
    assert make_controller(backend, paths, clock, lease_ms=60_000).run().windows_dispatched == 8
    recovered = schedule(backend, paths, "ep0000", "a1")["claim_id"]
    assert recovered != pending["claim_id"] and backend.kv.get(paths.claims_table, recovered) is not None
    counts = _window_counts(backend, paths)
    assert len(counts) == 8 and set(counts.values()) == {1}


def test_recovery_also_dispatches_windows_closed_since_the_crash(backend, paths, clock, registry):
    _setup_traffic(backend, paths, registry, endpoints=1, periods=3)
    put_endpoint(backend, paths, "ep0000", first=T0, watermark=T0 + PERIOD)
    clock.now = T0 + PERIOD
    real = backend.streams
    backend.streams = _FailingPuts(real, _Crash())
    with pytest.raises(_Crash):
        make_controller(backend, paths, clock, lease_ms=0).run()
    backend.streams = real
    put_endpoint(backend, paths, "ep0000", first=T0, watermark=T0 + 3 * PERIOD)
    clock.now = T0 + 3 * PERIOD
    make_controller(backend, paths, clock, lease_ms=0).run()
    assert [w.start_ms for w in dispatched(backend, paths, "a1")] == [T0, T0 + PERIOD, T0 + 2 * PERIOD]


def _run_controller(home: str, now: int, barrier, out) -> None:
    backend = make_backend(Settings(home=home, project="test"))
    controller = Controller(backend, ProjectPaths("test"), base_period_minutes=10, clock=ManualClock(now))
    barrier.wait()
    try:
        out.put(controller.run().windows_dispatched)
    finally:
        backend.close()


@pytest.mark.slow
def test_concurrent_controllers_dispatch_each_window_exactly_once(backend, paths, registry, settings):
    _setup_traffic(backend, paths, registry, endpoints=300, periods=2)
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(3), ctx.Queue()
    procs = [ctx.Process(target=_run_controller, args=(settings.home, T0 + 2 * PERIOD, barrier, out))
             for _ in range(3)]
    for p in procs:
        p.start()
    totals = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    counts = _window_counts(backend, paths)
    assert sum(totals) == 1200
    assert len(counts) == 1200 and set(counts.values()) == {1}


class _FailOnce:
    """A KV whose first ``method`` call on ``table`` raises ``BackendUnavailable`` (the rest reach the real KV)."""

    def __init__(self, kv, method: str, table: str) -> None:
        self._kv, self._method, self._table, self.failed = kv, method, table, 0

    def __getattr__(self, name):
        call = getattr(self._kv, name)
        if name != self._method:
            return call

        def maybe_fail(table, *args, **kwargs):
            if table == self._table and not self.failed:
                self.failed += 1
                raise BackendUnavailable("KV down for a moment")
            return call(table, *args, **kwargs)
        return maybe_fail


def test_a_confirmation_an_outage_interrupted_is_written_by_the_next_run_not_redone_after_the_lease(
        backend, paths, clock, registry):
    _setup_traffic(backend, paths, registry, endpoints=3, periods=2)
    clock.now = T0 + 2 * PERIOD
    flaky = _FailOnce(backend.kv, "put", paths.claims_table)
    backend.kv = flaky
    try:
        controller = make_controller(backend, paths, clock)  # one process: it keeps what it could not write
        first = controller.run()  # pushed, but the confirmation failed
        assert flaky.failed == 1 and first.windows_dispatched == 12
        clock.now += 1_000
        assert controller.run().windows_dispatched == 0  # the retried confirmation, not a re-dispatch
    finally:
        backend.kv = flaky._kv
    clock.now += 10 * 60_000  # far past the lease: still nothing to dispatch again
    assert make_controller(backend, paths, clock).run().windows_dispatched == 0
    counts = _window_counts(backend, paths)
    assert len(counts) == 12 and set(counts.values()) == {1}


def test_windows_an_outage_kept_from_being_given_back_are_dispatched_by_the_next_run(backend, paths, clock,
                                                                                    registry):
    _setup_traffic(backend, paths, registry, endpoints=3, periods=2)
    clock.now = T0 + 2 * PERIOD
    controller = make_controller(backend, paths, clock)
    real_streams, flaky = backend.streams, _FailOnce(backend.kv, "update", paths.schedules_table)
    backend.streams, backend.kv = _FailingPuts(real_streams, BackendUnavailable("stream down")), flaky
    try:
        first = controller.run()  # the pushes fail; one give-back fails too
    finally:
        backend.streams, backend.kv = real_streams, flaky._kv
    assert first.push_failures == 2 and first.windows_dispatched == 0 and flaky.failed == 1
    clock.now += 1_000  # well within the lease
    assert controller.run().windows_dispatched == 12
    counts = _window_counts(backend, paths)
    assert len(counts) == 12 and set(counts.values()) == {1}
