"""One controller run: plan the closed windows of every endpoint × app, claim them, dispatch them.

Order (see :mod:`modelmon.controller.schedule`): compare-and-set each pair's new progress with a
claim naming its batch, push each batch with one ``put_records``, then confirm the batch with one KV
write. Losing the compare-and-set means another controller got there first; a failed push gives the
batch's windows back; a crash leaves the claims unconfirmed, and the first run after the lease
re-dispatches them (the window id (endpoint, app, start, end) makes that harmless downstream).
With ``pack_windows`` > 1 (the deployed function's default) the windows of a batch bound for one shard of
the app's stream travel packed, many to a record (:mod:`modelmon.controller.packs`).
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import Callable, Container, Iterator, Mapping, Sequence
from typing import Any

from modelmon.apps.registry import AppRegistry, RegisteredApp
from modelmon.backends.base import Backend, Cond, Update, scan_all
from modelmon.controller.activity import RequestActivity
from modelmon.controller.claims import BACKFILL_MARK, ClaimLedger
from modelmon.controller.packs import window_records
from modelmon.controller.quiet import NEVER, KnownEndpoint, Quiet, quiet_until
from modelmon.controller.schedule import PairPlan, PairState, plan_pair, schedule_key
from modelmon.controller.windows import ClosingRule
from modelmon.core.config import Settings
from modelmon.core.errors import BackendError
from modelmon.core.paths import ProjectPaths
from modelmon.core.timeutil import iso, now_ms
from modelmon.endpoints.record import ModelEndpoint
from modelmon.endpoints.store import EndpointStore
from modelmon.events import WindowEvent
from modelmon.functions.dead_letters import DeadLetters
from modelmon.functions.packing import PACK_MESSAGES

log = logging.getLogger(__name__)
#: The most due pairs whose schedules are read one by one; more are read with a scan of every schedule.
_READ_ALONE = 100
#: The endpoint attributes a run reads (the rest is left undecoded: the reference statistics above all).
_READ = ("endpoint_id", "name", "labels", "first_request_ms", "watermark_ms", "skipped_from_ms", "skipped_until_ms")
_UNREAD = tuple(field.name for field in dataclasses.fields(ModelEndpoint) if field.name not in _READ)
#: How often a process plans every pair whatever it remembers (what other processes changed is seen by then).
REFRESH_MS = 60_000


@dataclasses.dataclass
class ControllerReport:
    """What one run did (for logs, tests and the benchmark)."""

    endpoints: int = 0
    apps: int = 0
    pairs_written: int = 0
    windows_dispatched: int = 0
    windows_empty: int = 0
    claims_lost: int = 0
    push_failures: int = 0
    pairs_failed: int = 0  # endpoint × app pairs whose planning raised (recorded on their schedule item)
    endpoints_skipping: int = 0  # endpoints with traffic older than where their analysis starts
    elapsed_s: float = 0.0


class Controller:
    """Plans and dispatches windows for one project. Stateless between runs: all state is in KV."""

    def __init__(
        self,
        backend: Backend,
        paths: ProjectPaths,
        *,
        base_period_minutes: int = 10,
        grace_minutes: int = 30,
        backfill_minutes: int = 24 * 60,
        lease_ms: int = 120_000,
        push_batch: int = 1000,
        claim_batch: int = 1000,
        pack_windows: int = 1,
        clock: Callable[[], int] = now_ms,
        refresh_ms: int = REFRESH_MS,
    ) -> None:
        if pack_windows < 1:
            raise ValueError(f"pack_windows={pack_windows}: must be at least 1")
        if push_batch < 1:
            raise ValueError(f"push_batch={push_batch}: must be at least 1")
        if claim_batch < 1:
            raise ValueError(f"claim_batch={claim_batch}: must be at least 1")
        self._backend = backend
        self._paths = paths
        self._period_minutes = base_period_minutes
        self._grace_ms = grace_minutes * 60_000
        self._backfill_ms = backfill_minutes * 60_000
        self._lease_ms = lease_ms
        self._push_batch = push_batch
        self._claim_batch = claim_batch
        self._pack_windows = pack_windows
        self._clock = clock
        self._registry = AppRegistry(backend.kv, paths)
        self._endpoints = EndpointStore(backend.kv, paths)
        self._ledger = ClaimLedger(backend.kv, paths.claims_table)
        # what a store outage kept this process from writing after a push: retried at the start of the
        # next run, so a transient error costs one interval, not the lease (after a crash, the lease does)
        self._unconfirmed: dict[str, tuple[int, int]] = {}  # claim id -> (windows pushed, when)
        self._not_given_back: dict[tuple[str, str], dict[str, Any]] = {}  # (claim id, pair key) -> its give-back
        # what this process knows of the endpoints and their quiet pairs (modelmon.controller.quiet), and of what
        # makes it all planned again
        self._known: dict[str, KnownEndpoint] = {}
        self._refresh_ms = refresh_ms
        self._next_refresh = 0
        self._apps_seen: list[RegisteredApp] = []
        self._marks_seen: set[str] = set()
        self._last_now = 0

    @classmethod
    def from_settings(cls, settings: Settings, backend: Backend, **kwargs: Any) -> Controller:
        """The controller of the deployed function: packed window records (read by this version's app functions;
        a direct ``Controller(...)`` writes one window per record unless given ``pack_windows``)."""
        kwargs.setdefault("pack_windows", PACK_MESSAGES)
        return cls(
            backend,
            ProjectPaths(settings.project),
            base_period_minutes=settings.base_period_minutes,
            grace_minutes=settings.grace_minutes,
            backfill_minutes=settings.backfill_minutes,
            **kwargs,
        )

    def run(self) -> ControllerReport:
        """One pass over every endpoint × enabled app; safe to run twice or concurrently.

        Pairs this process found nothing to do for are planned again only once due (:mod:`modelmon.controller.
        quiet`): a run with nothing due reads the endpoints and the claims, and no schedule.
        """
        began = time.perf_counter()
        now = self._clock()
        report = ControllerReport()
        settled = self._settle()
        apps = self._registry.list(enabled_only=True)
        confirmed = self._ledger.confirmed()
        self._forget_if_changed(apps, confirmed, now, settled)
        known = self._scan_endpoints()
        endpoints = [k.endpoint for k in known]
        report.endpoints, report.apps = len(endpoints), len(apps)
        starts: dict[str, int] = {}  # endpoint id -> where its earliest pair's analysis starts
        due = self._due(apps, known, now, starts)
        states, every = self._states(due)
        plans = list(self._plan(due, states, confirmed, now, starts, report))
        self._record_skipped(endpoints, starts, report)
        busy = self._busy_windows(plans)
        batches = _batches(plans, busy, self._push_batch, uuid.uuid4().hex)
        claimed = self._claim(plans, busy, batches, now, report)
        names = {e.endpoint_id: e.name for e in endpoints}
        created: dict[str, int] = {}  # streams made sure of in this run, and their shards: once per app
        for claim_id, app_name, claims in batches:
            won = [(plan, busy[plan.key]) for plan in claims if plan.key in claimed]
            if won:
                self._dispatch(claim_id, app_name, won, names, now, report, created)
        if every:  # every schedule's claim seen: the confirmations none refers to can go
            self._ledger.prune(confirmed, {s.claim_id for s in states.values()}, now)
        report.elapsed_s = time.perf_counter() - began
        log.info("controller run: %s", report)
        return report

    def _forget_if_changed(self, apps: list[RegisteredApp], confirmed: Mapping[str, int], now: int,
                           settled: bool) -> None:
        """Plan every pair again after a change this process cannot see pair by pair: the apps' registrations, a
        backfill's mark, a give-back or confirmation retried, a clock that went back, or ``refresh_ms`` passed."""
        marks = {key for key in confirmed if key.startswith(BACKFILL_MARK)}
        if (settled or apps != self._apps_seen or not marks <= self._marks_seen or now < self._last_now
                or now >= self._next_refresh):
            for known in self._known.values():
                known.quiet.clear()
            self._next_refresh = now + self._refresh_ms
        self._apps_seen, self._marks_seen, self._last_now = apps, marks, now

    def _scan_endpoints(self) -> list[KnownEndpoint]:
        """Every endpoint, decoded only when the attributes a run reads changed since the last run (else the pairs
        it knew quiet stay so)."""
        known: dict[str, KnownEndpoint] = {}
        for key, item in scan_all(self._backend.kv, self._paths.endpoints_table):
            seen = self._known.get(key)
            read = tuple(item.get(name) for name in _READ)
            if seen is None or seen.read != read:
                seen = KnownEndpoint(read, ModelEndpoint.from_item(item, _UNREAD, key=key))
            known[key] = seen
        self._known = known
        return list(known.values())

    def _due(self, apps: Sequence[RegisteredApp], known: Sequence[KnownEndpoint], now: int,
             starts: dict[str, int]) -> list[_Pair]:
        """The pairs to plan: those not known to be quiet at ``now`` (whose starts go to ``starts``)."""
        due: list[_Pair] = []
        for app in apps:
            try:
                rule = ClosingRule(app.period_ms(self._period_minutes), self._grace_ms, self._backfill_ms)
            except ValueError as exc:
                log.error("skipping application %s: %s", app.name, exc)
                continue
            for k in known:
                quiet = k.quiet.get(app.name)
                if quiet is None or now >= quiet.until_ms:
                    due.append((app, rule, k))
                elif quiet.start_ms is not None:
                    endpoint_id = k.endpoint.endpoint_id
                    starts[endpoint_id] = min(quiet.start_ms, starts.get(endpoint_id, quiet.start_ms))
        return due

    def _states(self, due: Sequence[_Pair]) -> tuple[dict[str, PairState], bool]:
        """The stored progress of the ``due`` pairs (a read each when few, else a scan of every schedule), and
        whether it is every schedule's."""
        table = self._paths.schedules_table
        states = {}
        if len(due) <= _READ_ALONE:
            for app, _, known in due:
                key = schedule_key(known.endpoint.endpoint_id, app.name)
                state = PairState.from_item(self._backend.kv.get(table, key) or {})
                if state is not None:
                    states[key] = state
            return states, False
        for key, item in scan_all(self._backend.kv, table):
            state = PairState.from_item(item)
            if state is not None:
                states[key] = state
        return states, True

    # ----------------------------------------------------------------------------------- planning
    def _plan(
        self, due: Sequence[_Pair], states: Mapping[str, PairState], confirmed: Container[str], now: int,
        starts: dict[str, int], report: ControllerReport,
    ) -> Iterator[PairPlan]:
        """Each due pair's plan; ``starts`` collects where each endpoint's analysis starts, and a pair planned
        nothing for is noted quiet until it can be due.

        A pair whose planning raises is recorded against it and left out: one endpoint's record never
        stops the run for the others.
        """
        for app, rule, known in due:
            ep = known.endpoint
            key = schedule_key(ep.endpoint_id, app.name)
            known.quiet.pop(app.name, None)
            try:
                if (app.endpoints or app.label_selector) and not app.applies_to(ep.endpoint_id, ep.name, ep.labels):
                    known.quiet[app.name] = Quiet(NEVER, None)  # until the endpoint or the app changes
                    continue
                state = states.get(key)
                plan = plan_pair(
                    endpoint_id=ep.endpoint_id, app_name=app.name, state=state,
                    first_request_ms=ep.first_request_ms, watermark_ms=ep.watermark_ms, rule=rule,
                    now_ms=now, lease_ms=self._lease_ms, confirmed=confirmed,
                )
            except Exception as exc:  # anything: the other endpoints' windows go on
                self._record_failure(key, exc, now, report)
                continue
            start = state.first_planned_ms if state is not None else (plan.first_planned_ms
                                                                      if plan is not None else None)
            if start is not None:
                starts[ep.endpoint_id] = min(start, starts.get(ep.endpoint_id, start))
            if plan is not None:
                yield plan
            else:
                open_claim = state is not None and bool(state.claim_id) and state.claim_id not in confirmed
                known.quiet[app.name] = Quiet(quiet_until(state, rule, now, self._lease_ms, open_claim), start)

    def _record_failure(self, key: str, exc: Exception, now: int, report: ControllerReport) -> None:
        report.pairs_failed += 1
        error = f"{type(exc).__name__}: {exc}"
        log.error("controller: planning %s failed, the other pairs go on: %s", key, error)
        try:
            self._backend.kv.update(self._paths.schedules_table, key, {"error": error[:1000], "error_ms": now})
        except BackendError as write_error:
            log.error("controller: could not record the failure of %s: %s", key, write_error)

    def _record_skipped(self, endpoints: Sequence[ModelEndpoint], starts: Mapping[str, int],
                        report: ControllerReport) -> None:
        """Mark on each endpoint the traffic older than where its analysis starts; warn once when it changes."""
        for ep in endpoints:
            start = starts.get(ep.endpoint_id)
            skipped = None
            if start is not None and ep.first_request_ms is not None and ep.first_request_ms < start:
                skipped = (ep.first_request_ms, start)
                report.endpoints_skipping += 1
            recorded = None if ep.skipped_until_ms is None else (ep.skipped_from_ms, ep.skipped_until_ms)
            if skipped == recorded:
                continue
            if skipped is not None:
                log.warning("endpoint %s (%s): its traffic from %s to %s is older than where its analysis starts "
                            "(the backfill horizon) and is not analysed; run 'modelmon backfill --endpoint %s "
                            "--since %s' to analyse it", ep.endpoint_id, ep.name, iso(skipped[0]), iso(skipped[1]),
                            ep.endpoint_id, iso(skipped[0]))
            try:
                self._endpoints.record_skipped(ep.endpoint_id, skipped)
            except BackendError as exc:  # recorded by a later run
                log.error("controller: could not record skipped traffic of %s: %s", ep.endpoint_id, exc)

    def _busy_windows(self, plans: Sequence[PairPlan]) -> dict[str, list[int]]:
        """Per schedule key, the window starts of its range that hold requests."""
        ranges = [p for p in plans if p.dispatch_to_ms > p.dispatch_from_ms]
        if not ranges:
            return {}
        spans: dict[str, tuple[int, int]] = {}
        for p in ranges:
            start, end = spans.get(p.endpoint_id, (p.dispatch_from_ms, p.dispatch_to_ms))
            spans[p.endpoint_id] = (min(start, p.dispatch_from_ms), max(end, p.dispatch_to_ms))
        step = self._period_minutes * 60_000
        tables = (self._paths.predictions_tsdb, self._paths.errors_tsdb)  # failed requests count as activity
        activity = RequestActivity.load(self._backend.tsdb, tables, spans, step)
        found = activity.busy_many([(p.endpoint_id, p.window_range) for p in ranges])
        return {p.key: starts for p, starts in zip(ranges, found, strict=True)}

    # ----------------------------------------------------------------------------------- claiming
    def _claim(
        self, plans: Sequence[PairPlan], busy: Mapping[str, list[int]], batches: Sequence[_Batch], now: int,
        report: ControllerReport,
    ) -> set[str]:
        """Write every plan with its compare-and-set; the keys of the won plans that claimed windows.

        The compare-and-sets go ``claim_batch`` to a ``KV.update_many`` call (one transaction on the local
        backend instead of one per pair). Each stays its own compare-and-set, so a concurrent controller
        that wrote a pair between this run's read and this write makes only that pair's update fail.
        """
        table = self._paths.schedules_table
        claim_of = {plan.key: claim_id for claim_id, _, claims in batches for plan in claims}
        claimed = set()
        for at in range(0, len(plans), self._claim_batch):
            chunk = plans[at:at + self._claim_batch]
            updates = []
            for plan in chunk:
                report.windows_empty += len(plan.window_range) - len(busy.get(plan.key, ()))
                claim_id = claim_of.get(plan.key)
                set_ = plan.set_ if claim_id is None else plan.claim_set(claim_id, now)
                updates.append(Update(plan.key, set_, plan.condition))
            for plan, applied in zip(chunk, self._backend.kv.update_many(table, updates), strict=True):
                if not applied:
                    report.claims_lost += 1
                    continue
                report.pairs_written += 1
                if plan.key in claim_of:
                    claimed.add(plan.key)
        return claimed

    # -------------------------------------------------------------------------------- dispatching
    def _dispatch(
        self, claim_id: str, app_name: str, claims: Sequence[tuple[PairPlan, list[int]]], names: Mapping[str, str],
        now: int, report: ControllerReport, created: dict[str, int],
    ) -> None:
        """Push one batch, then confirm it (one KV write) or give its windows back."""
        stream = self._paths.app_stream(app_name)
        if stream not in created:
            self._backend.streams.create(stream)
            created[stream] = self._backend.streams.describe(stream).shards if self._pack_windows > 1 else 1
        windows = [
            (plan.endpoint_id, WindowEvent(self._paths.project, plan.endpoint_id, app_name, start,
                                           start + plan.period_ms, names.get(plan.endpoint_id, "")).to_body())
            for plan, starts in claims
            for start in starts
        ]
        records = window_records(windows, created[stream], self._pack_windows)
        # split into requests by size; a window too large for a record is dead-lettered, never pushed again;
        # after a partial failure only the windows not stored are sent again (once), then all are given back
        letters = DeadLetters(self._backend.streams, self._paths.dead_letter_stream, "model-monitoring-controller")
        try:
            letters.put_or_reject(stream, records, resends=1)
        except BackendError as exc:
            log.error("pushing %d windows to %s failed, giving them back: %s", len(records), stream, exc)
            report.push_failures += 1
            self._give_back(claim_id, claims)
            return
        report.windows_dispatched += len(windows)
        self._confirm(claim_id, len(windows), now)

    def _confirm(self, claim_id: str, windows: int, now: int) -> None:
        try:
            self._ledger.confirm(claim_id, windows, now)
            self._unconfirmed.pop(claim_id, None)
        except BackendError as exc:
            self._unconfirmed[claim_id] = (windows, now)
            log.error("could not confirm batch %s (%s); retried at the next run (a crash before that: "
                      "re-dispatched after the lease)", claim_id, exc)

    def _give_back(self, claim_id: str, claims: Sequence[tuple[PairPlan, list[int]]]) -> None:
        """Undo the claims of a batch whose push failed, so the next run dispatches its windows."""
        for plan, _ in claims:
            self._give_back_one(claim_id, plan.key, {"claim_id": "", "pending_from_ms": None, "claimed_ms": None,
                                                     "last_analyzed_ms": plan.dispatch_from_ms})

    def _give_back_one(self, claim_id: str, key: str, set_: dict[str, Any]) -> None:
        try:  # only while the claim is still this batch's: a give-back retried late never undoes a newer one
            self._backend.kv.update(self._paths.schedules_table, key, set_,
                                    condition=(Cond.eq("claim_id", claim_id),), create=False)
            self._not_given_back.pop((claim_id, key), None)
        except BackendError as exc:
            self._not_given_back[(claim_id, key)] = set_
            log.error("could not give back %s (%s); retried at the next run (a crash before that: "
                      "re-dispatched after the lease)", key, exc)

    def _settle(self) -> bool:
        """Retry the confirmations and give-backs an outage interrupted in an earlier run of this process; whether
        there were any."""
        retried = bool(self._unconfirmed or self._not_given_back)
        for claim_id, (windows, at) in list(self._unconfirmed.items()):
            self._confirm(claim_id, windows, at)
        for (claim_id, key), set_ in list(self._not_given_back.items()):
            self._give_back_one(claim_id, key, set_)
        return retried


#: A pair to plan: its app, the app's closing rule, and its endpoint.
_Pair = tuple[RegisteredApp, ClosingRule, "KnownEndpoint"]

#: (claim id, app name, plans): windows pushed in one ``put_records`` and confirmed together
_Batch = tuple[str, str, list[PairPlan]]


def _batches(plans: Sequence[PairPlan], busy: Mapping[str, list[int]], size: int, run_id: str) -> list[_Batch]:
    """Plans with windows to push, grouped per app into batches of whole pairs of about ``size`` windows."""
    by_app: dict[str, list[PairPlan]] = {}
    for plan in plans:
        if busy.get(plan.key):
            by_app.setdefault(plan.app_name, []).append(plan)
    batches: list[_Batch] = []
    for app_name, app_plans in by_app.items():
        batch: list[PairPlan] = []
        count = 0
        for plan in app_plans:
            batch.append(plan)
            count += len(busy[plan.key])
            if count >= size:
                batches.append((f"{run_id}-{len(batches)}", app_name, batch))
                batch, count = [], 0
        if batch:
            batches.append((f"{run_id}-{len(batches)}", app_name, batch))
    return batches
