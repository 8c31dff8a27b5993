"""What one controller process remembers between runs so that a run with nothing due costs little.

A 1-second cron planned every endpoint × app pair each second: a scan of every endpoint and every schedule
item, and a plan per pair, 0.1 CPU s per second at 1,000 endpoints × 3 apps when nothing was due. A pair's
plan changes only when its endpoint's record changes (a new watermark, first request, name or labels), its
own schedule item changes, or the wall clock reaches a time its plan depends on: the next window boundary, the
end of the grace of an idle endpoint, the end of the lease of an open claim. So after planning nothing for a
pair, the process notes until when that stays so (:func:`quiet_until`) for the endpoint's record as it was
read, and later runs plan the pair again only once that time has come or the record changed.

Nothing here is progress: all of it stays in KV, written by compare-and-set as before, and a new process starts
with nothing remembered (its first run plans every pair). What another process changes in a schedule item is
seen at the pair's next due time, within ``refresh_ms`` at the latest (another controller's work needs nothing
of this one: its compare-and-sets keep each window dispatched once); a backfill leaves a mark in the claims
table (:meth:`~modelmon.controller.claims.ClaimLedger.mark_backfill`) that makes the next run plan every pair.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from modelmon.controller.schedule import PairState
from modelmon.controller.windows import ClosingRule, floor_to
from modelmon.endpoints.record import ModelEndpoint

#: No due time: the pair waits for its endpoint's record to change.
NEVER = 2**62


@dataclasses.dataclass(frozen=True, slots=True)
class Quiet:
    """A pair not due before ``until_ms`` (unless its endpoint's record changes); ``start_ms`` is where its
    analysis starts (the schedule's ``first_planned_ms``), which the run's skipped-traffic check needs."""

    until_ms: int
    start_ms: int | None


@dataclasses.dataclass
class KnownEndpoint:
    """The attributes of an endpoint's item a run reads, as last read; its record decoded from them; its pairs
    known to be quiet (by app name)."""

    read: tuple[Any, ...]
    endpoint: ModelEndpoint
    quiet: dict[str, Quiet] = dataclasses.field(default_factory=dict)


def quiet_until(state: PairState | None, rule: ClosingRule, now_ms: int, lease_ms: int, open_claim: bool) -> int:
    """Until when :func:`~modelmon.controller.schedule.plan_pair` keeps planning nothing for a pair it planned
    nothing for at ``now_ms`` from ``state``, while the endpoint's watermark and first request stay the same.

    Its only dependence on the wall clock: which window ``now`` is in (closing windows; the next boundary), whether
    the watermark has stood still for the grace (from ``seen_at_ms``), and whether an open claim's lease ran out.
    A pair without state plans nothing only without traffic: it waits for the record to change.
    """
    if state is None:
        return NEVER
    times = [floor_to(now_ms, rule.period_ms) + rule.period_ms]
    if state.seen_at_ms is not None and state.seen_at_ms + rule.grace_ms > now_ms:
        times.append(state.seen_at_ms + rule.grace_ms)
    if open_claim and state.claimed_ms is not None:
        times.append(state.claimed_ms + lease_ms)
    return min(times)
