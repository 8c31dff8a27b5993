"""The controller's progress per endpoint × app, and the plan of one run for one such pair.

Item of KV ``paths.schedules_table``, key ``"{endpoint_id}.{app_name}"``:

- ``last_analyzed_ms``: end of the last claimed window (windows before it are dispatched or
  being dispatched);
- ``claim_id``/``pending_from_ms``/``claimed_ms``: the batch that claimed ``[pending_from_ms,
  last_analyzed_ms)`` (``claim_id == ""``: nothing claimed). The claim is settled once its batch is
  confirmed in ``paths.claims_table`` (:mod:`modelmon.controller.claims`); an unconfirmed claim
  older than the lease is taken to belong to a crashed run, and re-dispatched;
- ``seen_watermark_ms``/``seen_at_ms``: the endpoint watermark last seen and the wall-clock time it
  was first seen, which tells how long the endpoint has been idle;
- ``first_planned_ms``: where the pair's analysis starts (the backfill horizon when the pair was
  created, or where a backfill moved it): traffic before it is skipped, and recorded as such.

Every change is a compare-and-set on ``(last_analyzed_ms, claim_id)``, so of two controllers
planning from the same state only one wins, and a window is dispatched once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Container, Mapping
from typing import Any

from modelmon.backends.base import Cond
from modelmon.controller.windows import ClosingRule, ceil_to


def schedule_key(endpoint_id: str, app_name: str) -> str:
    return f"{endpoint_id}.{app_name}"


@dataclasses.dataclass(frozen=True, slots=True)
class PairState:
    """The stored progress of one endpoint × app (see the module docstring)."""

    last_analyzed_ms: int
    claim_id: str = ""
    pending_from_ms: int | None = None
    claimed_ms: int | None = None
    seen_watermark_ms: int | None = None
    seen_at_ms: int | None = None
    first_planned_ms: int | None = None  # absent on pairs created by earlier versions

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> PairState | None:
        if item.get("last_analyzed_ms") is None:
            return None
        return cls(
            last_analyzed_ms=int(item["last_analyzed_ms"]),
            claim_id=item.get("claim_id") or "",
            pending_from_ms=item.get("pending_from_ms"),
            claimed_ms=item.get("claimed_ms"),
            seen_watermark_ms=item.get("seen_watermark_ms"),
            seen_at_ms=item.get("seen_at_ms"),
            first_planned_ms=item.get("first_planned_ms"),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class PairPlan:
    """What one run does for one pair: write ``set_`` if ``condition`` holds, then dispatch the windows of
    ``[dispatch_from_ms, dispatch_to_ms)`` that hold rows.

    Kept as plain fields (a run over 100,000 endpoints × 3 apps holds 300,000 plans); the item written and
    the compare-and-set are built from them when written.
    """

    endpoint_id: str
    app_name: str
    period_ms: int
    #: the stored ``(last_analyzed_ms, claim_id)`` the write expects; ``None``: the pair has no item yet
    expected: tuple[int, str] | None
    last_analyzed_ms: int
    seen_watermark_ms: int
    seen_at_ms: int
    first_planned_ms: int | None  # written when the pair is new
    dispatch_from_ms: int
    dispatch_to_ms: int
    key: str = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", schedule_key(self.endpoint_id, self.app_name))

    @property
    def condition(self) -> tuple[Cond, ...]:
        """The compare-and-set: the progress this plan was made from is still the stored one."""
        if self.expected is None:
            return (Cond.not_exists("last_analyzed_ms"),)
        return (Cond.eq("last_analyzed_ms", self.expected[0]), Cond.eq("claim_id", self.expected[1]))

    @property
    def set_(self) -> dict[str, Any]:
        """The attributes written when nothing is claimed."""
        set_: dict[str, Any] = {
            "endpoint_id": self.endpoint_id,
            "app_name": self.app_name,
            "last_analyzed_ms": self.last_analyzed_ms,
            "claim_id": "",
            "pending_from_ms": None,
            "claimed_ms": None,
            "seen_watermark_ms": self.seen_watermark_ms,
            "seen_at_ms": self.seen_at_ms,
        }
        if self.first_planned_ms is not None:
            set_["first_planned_ms"] = self.first_planned_ms
        return set_

    @property
    def window_range(self) -> range:
        return range(self.dispatch_from_ms, self.dispatch_to_ms, self.period_ms)

    def claim_set(self, claim_id: str, now_ms: int) -> dict[str, Any]:
        """What this plan writes when it claims its range: the range pending under ``claim_id`` until the
        push is confirmed."""
        return {**self.set_, "claim_id": claim_id, "pending_from_ms": self.dispatch_from_ms, "claimed_ms": now_ms}


#: The most windows one run plans for one endpoint × app; the rest is planned by the next runs. It keeps
#: a run's time and memory independent of how far behind a pair is (a long backfill, a first run).
MAX_WINDOWS_PER_RUN = 1440


def plan_pair(
    *,
    endpoint_id: str,
    app_name: str,
    state: PairState | None,
    first_request_ms: int | None,
    watermark_ms: int | None,
    rule: ClosingRule,
    now_ms: int,
    lease_ms: int,
    confirmed: Container[str] = (),
) -> PairPlan | None:
    """The plan for one pair, or ``None`` when there is nothing to write.

    Windows are dispatched from the end of the last analysed one (or from the start of an expired
    claim, to redo what a crashed run may not have pushed) to the end of the last closed window, at
    most :data:`MAX_WINDOWS_PER_RUN` of them.
    An unconfirmed claim younger than ``lease_ms`` belongs to a run still pushing: the pair is
    left alone. ``confirmed`` holds the claim ids whose push went through.
    """
    if first_request_ms is None or watermark_ms is None:
        return None
    period = rule.period_ms
    open_claim = False
    if state is None:
        last = rule.first_start(first_request_ms, now_ms)
        expected = None
        dispatch_from = last
    else:
        last = ceil_to(state.last_analyzed_ms, period)
        expected = (state.last_analyzed_ms, state.claim_id)
        open_claim = bool(state.claim_id) and state.claim_id not in confirmed
        if open_claim and state.claimed_ms is not None and now_ms - state.claimed_ms < lease_ms:
            return None
        pending = state.pending_from_ms if open_claim and state.pending_from_ms is not None else None
        dispatch_from = ceil_to(pending, period) if pending is not None else last
    if state is not None and state.seen_watermark_ms == watermark_ms and state.seen_at_ms is not None:
        seen_at, idle_since = state.seen_at_ms, state.seen_at_ms
    else:
        seen_at, idle_since = now_ms, None
    closed = rule.closed_until(watermark_ms, now_ms, idle_since)
    new_last = max(last, closed) if closed is not None else last
    new_last = min(new_last, max(last, dispatch_from + MAX_WINDOWS_PER_RUN * period))
    unchanged = (
        state is not None
        and new_last == state.last_analyzed_ms
        and dispatch_from >= new_last
        and seen_at == state.seen_at_ms
        and not open_claim
    )
    if unchanged:
        return None
    return PairPlan(endpoint_id, app_name, period, expected, new_last, watermark_ms, seen_at,
                    last if state is None else None, dispatch_from, max(dispatch_from, new_last))
