"""Confirmations of pushed batches: one KV item per batch instead of one release write per pair.

A pair's schedule item keeps the ``claim_id`` of the batch that last dispatched it. The batch's
item in ``paths.claims_table`` says the push went through, so that claim counts as settled; a claim
without a confirmation is either in flight (younger than the lease) or from a crashed run.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Set

from modelmon.backends.base import KV, scan_all

log = logging.getLogger(__name__)
#: Key prefix of the marks a backfill leaves: a controller process that sees a new one plans every pair again
#: (it remembers pairs with nothing due: :mod:`modelmon.controller.quiet`). No schedule refers to them: pruned.
BACKFILL_MARK = "backfill-"


class ClaimLedger:
    """Read, write and prune the confirmations of one project."""

    def __init__(self, kv: KV, table: str, *, keep_ms: int = 3_600_000) -> None:
        self._kv = kv
        self._table = table
        self._keep_ms = keep_ms

    def confirmed(self) -> dict[str, int]:
        """Confirmed claim ids and when they were confirmed."""
        return {key: int(item.get("time_ms") or 0) for key, item in scan_all(self._kv, self._table)}

    def confirm(self, claim_id: str, windows: int, now_ms: int) -> None:
        self._kv.put(self._table, claim_id, {"time_ms": now_ms, "windows": windows})

    def mark_backfill(self, now_ms: int) -> None:
        """Tell every controller process that schedules were set back (see :data:`BACKFILL_MARK`)."""
        self._kv.put(self._table, f"{BACKFILL_MARK}{uuid.uuid4().hex}", {"time_ms": now_ms, "windows": 0})

    def prune(self, confirmed: dict[str, int], referenced: Set[str], now_ms: int) -> int:
        """Delete confirmations no schedule refers to any more, once older than ``keep_ms``.

        The age guard keeps a confirmation a concurrent run has just written for claims this run
        did not see. Returns how many were deleted.
        """
        stale = [cid for cid, at in confirmed.items() if cid not in referenced and now_ms - at > self._keep_ms]
        for claim_id in stale:
            self._kv.delete(self._table, claim_id)
        return len(stale)
