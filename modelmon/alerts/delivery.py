"""Delivering notifications: a KV outbox with one item per (notification key, channel), sent at least once.

**Contract (at least once).** :meth:`Deliveries.enqueue` creates each item only if it is absent, so
enqueuing the same notification again (a re-read stream record, a re-evaluated window) is a no-op.
:meth:`Deliveries.deliver_due` *claims* a due item with a compare-and-set on its attempt counter (which
also pushes its next attempt one lease ahead), sends it, then marks it ``delivered``. A process killed
between the send and the mark sends that item again once its lease is over: a receiver may therefore
see a notification twice and drops the repeat by its ``Idempotency-Key`` header (webhook, Slack) or its
``Message-ID`` (email), both derived from the notification key. Nothing is ever lost: an item leaves
``pending`` only as ``delivered`` or, after ``max_attempts`` or ``max_age_ms``, as ``failed`` with its
last error, listed by :meth:`Deliveries.list`.

Sends run on a small thread pool, each bounded by the channel timeout, so a slow or dead receiver
delays no other item beyond that timeout; ``budget_s`` bounds one call (no new send starts after it).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from modelmon.alerts.channels import DEFAULT_TIMEOUT_S, channel_for
from modelmon.backends.base import KV, Cond, Op, Update, scan_all
from modelmon.core.paths import ProjectPaths

logger = logging.getLogger("modelmon.alerts.delivery")

STATES = ("pending", "delivered", "failed")


class Notifiable(Protocol):
    """What delivery needs of a notification (``modelmon.alerts.notification.Notification``)."""

    @property
    def key(self) -> str: ...

    @property
    def channels(self) -> tuple[dict[str, Any], ...]: ...

    def to_json(self) -> Any: ...


@dataclasses.dataclass(frozen=True)
class Backoff:
    """Exponential backoff: ``base_ms * 2**(attempt-1)`` capped at ``cap_ms``; give up after
    ``max_attempts`` attempts or once an item is ``max_age_ms`` old."""

    base_ms: int = 5_000
    cap_ms: int = 600_000
    max_attempts: int = 12
    max_age_ms: int = 24 * 3_600_000
    #: How long a delivered item is kept (a re-enqueue of its key within this time is still a no-op; later
    #: ones are stopped by the evaluator, which never notifies a window twice) and a failed one stays listed.
    keep_delivered_ms: int = 24 * 3_600_000
    keep_failed_ms: int = 7 * 24 * 3_600_000

    def delay_ms(self, attempts: int) -> int:
        return int(min(self.cap_ms, self.base_ms * 2 ** max(0, min(attempts - 1, 40))))


@dataclasses.dataclass
class DeliverySummary:
    """What one :meth:`Deliveries.deliver_due` call did."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0  # due but claimed by another deliverer, or left for the next call (budget)
    errors: list[str] = dataclasses.field(default_factory=list)


def item_key(key: str, index: int) -> str:
    """The KV key of a notification's channel ``index``: readable when the key is tame, else hashed."""
    if re.fullmatch(r"[A-Za-z0-9._:=-]{1,180}", key):
        return f"{key}#{index}"
    return f"h-{hashlib.sha256(key.encode()).hexdigest()[:40]}#{index}"


def _payload(notification: Notifiable) -> dict[str, Any]:
    value = notification.to_json()
    if isinstance(value, str | bytes):
        value = json.loads(value)
    return dict(value)


class Deliveries:
    """The outbox of one project (KV ``paths.alert_deliveries_table``)."""

    def __init__(self, kv: KV, paths: ProjectPaths, *, clock: Callable[[], int],
                 backoff: Backoff | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
                 workers: int = 8, table: str | None = None) -> None:
        self.kv = kv
        self.table = table or paths.alert_deliveries_table
        self.clock = clock
        self.backoff = backoff or Backoff()
        self.timeout_s = timeout_s
        self.workers = workers
        #: How long a claimed send may take before the item is due again (a killed deliverer's items).
        self.lease_ms = int(timeout_s * 1000) * 2 + 1000
        self._pruned_ms: int | None = None

    def enqueue(self, notifications: Iterable[Notifiable]) -> int:
        """Create one pending item per (notification, channel) unless it exists; returns how many were new.
        One batch for all (create-only compare-and-sets): the alerts function shares the store with the writer."""
        now = self.clock()
        updates = []
        for n in notifications:
            payload = json.dumps(_payload(n), sort_keys=True)
            for index, spec in enumerate(n.channels):
                item = {"key": n.key, "channel_index": index, "kind": str(spec.get("kind")),
                        "channel": json.dumps(spec, sort_keys=True), "payload": payload, "state": "pending",
                        "attempts": 0, "next_ms": now, "created_ms": now}
                updates.append(Update(item_key(n.key, index), item, (Cond.not_exists("key"),)))
        return sum(self.kv.update_many(self.table, updates))

    def list(self, state: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Delivery items (``state``: pending, delivered or failed; ``None`` = all), oldest first."""
        if state is not None and state not in STATES:
            raise ValueError(f"state must be one of {', '.join(STATES)}, not {state!r}")
        condition = [Cond.eq("state", state)] if state else []
        rows = [{"id": k, **item} for k, item in scan_all(self.kv, self.table, condition)]
        rows.sort(key=lambda r: (r.get("created_ms", 0), r["id"]))
        for row in rows:
            row.pop("payload", None)
        return rows[:limit] if limit is not None else rows

    def prune(self, now_ms: int | None = None) -> int:
        """Delete delivered items older than ``keep_delivered_ms`` and failed ones older than ``keep_failed_ms``
        (so that the outbox, scanned by every :meth:`deliver_due`, stays small); returns how many."""
        now = self.clock() if now_ms is None else now_ms
        removed = 0
        for state, field, keep in (("delivered", "delivered_ms", self.backoff.keep_delivered_ms),
                                   ("failed", "failed_ms", self.backoff.keep_failed_ms)):
            old = [key for key, _ in scan_all(self.kv, self.table, [Cond.eq("state", state),
                                                                     Cond(field, Op.LT, now - keep)])]
            for key in old:
                self.kv.delete(self.table, key)
            removed += len(old)
        self._pruned_ms = now
        return removed

    def _claim(self, key: str, item: Mapping[str, Any], now: int) -> bool:
        attempts = int(item.get("attempts", 0))
        return self.kv.update(self.table, key, {"attempts": attempts + 1, "next_ms": now + self.lease_ms,
                                                "last_attempt_ms": now},
                              condition=[Cond.eq("state", "pending"), Cond.eq("attempts", attempts)], create=False)

    def deliver_due(self, now_ms: int | None = None, budget_s: float = 30.0) -> DeliverySummary:
        """Send every pending item due at ``now_ms`` (within ``budget_s``); see the module's contract."""
        now = self.clock() if now_ms is None else now_ms
        deadline = time.monotonic() + budget_s
        summary = DeliverySummary()
        if self._pruned_ms is None or now - self._pruned_ms >= 3_600_000:  # at most hourly per process
            self.prune(now)
        due = list(scan_all(self.kv, self.table, [Cond.eq("state", "pending"), Cond("next_ms", Op.LE, now)]))
        due.sort(key=lambda kv: (kv[1].get("next_ms", 0), kv[0]))
        with concurrent.futures.ThreadPoolExecutor(max_workers=self.workers) as pool:
            running: dict[concurrent.futures.Future[None], tuple[str, dict[str, Any]]] = {}
            for key, item in due:
                while len(running) >= self.workers:  # claim only what a free worker sends now
                    done, _ = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
                    for future in done:
                        self._settle(future, *running.pop(future), now_ms, summary)
                if time.monotonic() >= deadline:
                    summary.skipped += 1
                    continue
                if now - int(item.get("created_ms", now)) > self.backoff.max_age_ms:
                    self._fail(key, item, "too old: " + str(item.get("last_error") or "never attempted"), now, summary)
                    continue
                # the lease runs from the claim, not from the call's start: a long call's late claims keep theirs
                if not self._claim(key, item, self.clock() if now_ms is None else now_ms):
                    summary.skipped += 1
                    continue
                item["attempts"] = int(item.get("attempts", 0)) + 1
                running[pool.submit(self._send, item)] = (key, item)
            for future in concurrent.futures.as_completed(list(running)):
                self._settle(future, *running.pop(future), now_ms, summary)
        return summary

    def _settle(self, future: concurrent.futures.Future[None], key: str, item: dict[str, Any],
                now_ms: int | None, summary: DeliverySummary) -> None:
        """Record a finished send: delivered, or its error and next attempt (or failed, out of attempts)."""
        error = future.exception()
        done = self.clock() if now_ms is None else now_ms
        if error is None:
            self.kv.update(self.table, key, {"state": "delivered", "delivered_ms": done, "last_error": None},
                           create=False)
            summary.delivered += 1
            return
        message = str(error) if str(error).startswith(item["kind"]) else f"{type(error).__name__}: {error}"
        summary.errors.append(f"{key}: {message}")
        if item["attempts"] >= self.backoff.max_attempts:
            self._fail(key, item, message, done, summary)
            return
        self.kv.update(self.table, key, {"next_ms": done + self.backoff.delay_ms(item["attempts"]),
                                         "last_error": message}, create=False)
        summary.retrying += 1
        logger.warning("alert delivery %s via %s failed (attempt %d): %s", item["key"], item["kind"],
                       item["attempts"], message)

    def _send(self, item: Mapping[str, Any]) -> None:
        spec = json.loads(item["channel"])
        channel_for(spec, timeout_s=self.timeout_s).send(str(item["key"]), json.loads(item["payload"]))

    def _fail(self, key: str, item: Mapping[str, Any], message: str, now: int, summary: DeliverySummary) -> None:
        self.kv.update(self.table, key, {"state": "failed", "failed_ms": now, "last_error": message}, create=False)
        summary.failed += 1
        logger.error("alert delivery %s via %s gave up after %s attempts: %s", item.get("key"), item.get("kind"),
                     item.get("attempts"), message)
