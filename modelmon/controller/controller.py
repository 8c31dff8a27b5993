"""One controller run: plan the closed windows of every endpoint × app, claim them, dispatch them.

Order per pair (see :mod:`modelmon.controller.schedule`): compare-and-set the new progress with a
pending claim, push the window events in batches, then release the claim. Losing the compare-and-set
means another controller got there first; a failed push rolls the claim back; a crash leaves the
claim pending, and the first run after the lease re-dispatches it (the window id
(endpoint, app, start, end) makes that harmless downstream).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from modelmon.app_registry import AppRegistry, RegisteredApp
from modelmon.backends.base import Backend, Cond, OutRecord, scan_all
from modelmon.config import Settings
from modelmon.controller.activity import RequestActivity
from modelmon.controller.schedule import PairPlan, PairState, plan_pair
from modelmon.controller.windows import ClosingRule
from modelmon.errors import BackendError
from modelmon.events import WindowEvent
from modelmon.paths import ProjectPaths
from modelmon.timeutil import now_ms

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class _Endpoint:
    endpoint_id: str
    name: str
    labels: Mapping[str, Any]
    first_request_ms: int | None
    watermark_ms: int | None

    @classmethod
    def from_item(cls, key: str, item: Mapping[str, Any]) -> _Endpoint:
        labels = item.get("labels") or {}
        if isinstance(labels, str):
            labels = json.loads(labels) if labels else {}
        return cls(key, item.get("name") or "", labels, item.get("first_request_ms"), item.get("watermark_ms"))


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
        clock: Callable[[], int] = now_ms,
    ) -> None:
        if push_batch < 1:
            raise ValueError(f"push_batch={push_batch}: must be at least 1")
        self._backend = backend
        self._paths = paths
        self._period_minutes = base_period_minutes
        self._grace_ms = grace_minutes * 60_000
        self._backfill_ms = backfill_minutes * 60_000
        self._lease_ms = lease_ms
        self._push_batch = push_batch
        self._clock = clock
        self._registry = AppRegistry(backend.kv, paths)

    @classmethod
    def from_settings(cls, settings: Settings, backend: Backend, **kwargs: Any) -> Controller:
        return cls(
            backend,
            ProjectPaths(settings.project),
            base_period_minutes=settings.base_period_minutes,
            grace_minutes=settings.grace_minutes,
            backfill_minutes=settings.backfill_minutes,
            **kwargs,
        )

    def run(self) -> ControllerReport:
        """One pass over every endpoint × enabled app; safe to run twice or concurrently."""
        began = time.perf_counter()
        now = self._clock()
        report = ControllerReport()
        apps = self._registry.list(enabled_only=True)
        endpoints = [_Endpoint.from_item(k, v) for k, v in scan_all(self._backend.kv, self._paths.endpoints_table)]
        report.endpoints, report.apps = len(endpoints), len(apps)
        plans = list(self._plan(apps, endpoints, now))
        claim_id = uuid.uuid4().hex
        claimed = self._claim(plans, self._busy_windows(plans), claim_id, now, report)
        names = {e.endpoint_id: e.name for e in endpoints}
        for app_name, app_claims in _by_app(claimed).items():
            self._dispatch(app_name, app_claims, names, claim_id, report)
        report.elapsed_s = time.perf_counter() - began
        log.info("controller run: %s", report)
        return report

    # ----------------------------------------------------------------------------------- planning
    def _plan(self, apps: Sequence[RegisteredApp], endpoints: Sequence[_Endpoint], now: int) -> Iterator[PairPlan]:
        states = {}
        for key, item in scan_all(self._backend.kv, self._paths.schedules_table):
            state = PairState.from_item(item)
            if state is not None:
                states[key] = state
        for app in apps:
            try:
                rule = ClosingRule(app.period_ms(self._period_minutes), self._grace_ms, self._backfill_ms)
            except ValueError as exc:
                log.error("skipping application %s: %s", app.name, exc)
                continue
            for ep in endpoints:
                if not app.applies_to(ep.endpoint_id, ep.name, ep.labels):
                    continue
                plan = plan_pair(
                    endpoint_id=ep.endpoint_id,
                    app_name=app.name,
                    state=states.get(f"{ep.endpoint_id}.{app.name}"),
                    first_request_ms=ep.first_request_ms,
                    watermark_ms=ep.watermark_ms,
                    rule=rule,
                    now_ms=now,
                    lease_ms=self._lease_ms,
                )
                if plan is not None:
                    yield plan

    def _busy_windows(self, plans: Sequence[PairPlan]) -> dict[str, list[int]]:
        """Per schedule key, the window starts of its range that hold requests."""
        ranges = [p for p in plans if p.dispatch_to_ms > p.dispatch_from_ms]
        if not ranges:
            return {}
        activity = RequestActivity.load(
            self._backend.tsdb,
            self._paths.predictions_tsdb,
            min(p.dispatch_from_ms for p in ranges),
            max(p.dispatch_to_ms for p in ranges),
            self._period_minutes * 60_000,
        )
        return {p.key: activity.busy(p.endpoint_id, p.window_range, p.period_ms) for p in ranges}

    # ----------------------------------------------------------------------------------- claiming
    def _claim(
        self, plans: Sequence[PairPlan], busy: Mapping[str, list[int]], claim_id: str, now: int,
        report: ControllerReport,
    ) -> list[tuple[PairPlan, list[int]]]:
        """Write every plan with its compare-and-set; the won plans that have windows to push."""
        table = self._paths.schedules_table
        claimed = []
        for plan in plans:
            starts = busy.get(plan.key, [])
            report.windows_empty += len(plan.window_range) - len(starts)
            if starts:
                plan = plan.with_claim(claim_id, now)
            if not self._backend.kv.update(table, plan.key, plan.set_, condition=plan.condition):
                report.claims_lost += 1
                continue
            report.pairs_written += 1
            if starts:
                claimed.append((plan, starts))
        return claimed

    # -------------------------------------------------------------------------------- dispatching
    def _dispatch(
        self, app_name: str, claims: Sequence[tuple[PairPlan, list[int]]], names: Mapping[str, str],
        claim_id: str, report: ControllerReport,
    ) -> None:
        stream = self._paths.app_stream(app_name)
        self._backend.streams.create(stream)
        for batch in _batches(claims, self._push_batch):
            records = [
                OutRecord(
                    WindowEvent(self._paths.project, plan.endpoint_id, app_name, start, start + plan.period_ms,
                                names.get(plan.endpoint_id, "")).to_body(),
                    partition_key=plan.endpoint_id,
                )
                for plan, starts in batch
                for start in starts
            ]
            try:
                self._backend.streams.put_records(stream, records)
            except BackendError as exc:
                log.error("pushing %d windows to %s failed, rolling back: %s", len(records), stream, exc)
                report.push_failures += 1
                self._settle(batch, claim_id, rollback=True)
                continue
            report.windows_dispatched += len(records)
            self._settle(batch, claim_id, rollback=False)

    def _settle(self, batch: Sequence[tuple[PairPlan, list[int]]], claim_id: str, *, rollback: bool) -> None:
        """Release the claims of a pushed batch, or give back the windows of a failed one."""
        table = self._paths.schedules_table
        for plan, _ in batch:
            set_: dict[str, Any] = {"claim_id": "", "pending_from_ms": None, "claimed_ms": None}
            if rollback:
                set_["last_analyzed_ms"] = plan.dispatch_from_ms
            try:
                self._backend.kv.update(table, plan.key, set_, condition=(Cond.eq("claim_id", claim_id),),
                                        create=False)
            except BackendError as exc:  # the claim stays pending and is redone after the lease
                log.error("could not settle %s (%s); it will be re-dispatched after the lease", plan.key, exc)


def _by_app(claims: Sequence[tuple[PairPlan, list[int]]]) -> dict[str, list[tuple[PairPlan, list[int]]]]:
    groups: dict[str, list[tuple[PairPlan, list[int]]]] = {}
    for plan, starts in claims:
        groups.setdefault(plan.app_name, []).append((plan, starts))
    return groups


def _batches(
    claims: Sequence[tuple[PairPlan, list[int]]], size: int
) -> Iterator[list[tuple[PairPlan, list[int]]]]:
    """Groups of whole pairs holding about ``size`` windows: a pair's windows succeed or fail together."""
    batch: list[tuple[PairPlan, list[int]]] = []
    count = 0
    for claim in claims:
        batch.append(claim)
        count += len(claim[1])
        if count >= size:
            yield batch
            batch, count = [], 0
    if batch:
        yield batch
