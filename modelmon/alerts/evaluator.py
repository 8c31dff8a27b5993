"""Evaluating writer events against alert configs: activations in KV, and the notifications to send.

One **activation** item per (config, endpoint, app, result) in ``alert_activations_table`` holds the state
(``active`` / ``resolved``), the windows that matched within the criteria's period (``hits``), the window of
the last activation (for the cooldown), the last window evaluated and the history of transitions.

* A result whose status matches one of the config's events (``detected`` → ``<kind>_detected``,
  ``potential_detection`` → ``<kind>_suspected``) adds its window to ``hits``; once ``count`` hits lie within
  ``period`` (by window end) and the cooldown since the last activation has passed, the activation turns
  ``active`` (hits are cleared) and a notification is produced.
* With ``reset_policy: auto`` a later window of the same result at ``no_detection`` resolves it (and is
  notified); with ``manual`` only :meth:`Evaluator.reset` does.
* An app failure (``mm_app_failed``) activates on result ``failed``; its next successful window resolves it.

Times are window times, never the wall clock, so evaluation is deterministic and replayable.
**Idempotent**: a window at or before the activation's last stored window changes nothing, and a window
that changes nothing is not stored (nor would it change anything evaluated again), so a redelivered writer
event (or its parked copy) neither counts twice nor notifies twice; every write is a
compare-and-set on the item's version, so two evaluators never both apply the same window.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from modelmon.alerts.activations import read_activations
from modelmon.alerts.configs import APP_FAILED, NO_TRAFFIC, AlertConfig, AlertConfigStore
from modelmon.alerts.notification import ACTIVE, RESOLVED, Notification, notification_key
from modelmon.backends.base import KV, Cond, Item, Op, scan_all
from modelmon.core.errors import NotFound
from modelmon.core.paths import ProjectPaths
from modelmon.core.results import ResultStatusApp
from modelmon.core.timeutil import now_ms
from modelmon.events.writer import WriterEvent

#: The pseudo result name of an app-failure activation.
FAILED_RESULT = "failed"
#: How many transitions an activation keeps in its history (the oldest are dropped).
MAX_HISTORY = 100
_SUFFIX = {ResultStatusApp.detected: "detected", ResultStatusApp.potential_detection: "suspected"}
_CAS_TRIES = 5
#: Where notifications go before their activation is stored (``Deliveries.enqueue``).
Outbox = Callable[[list[Notification]], object]
#: The app and result names of a no-traffic activation.
TRAFFIC_APP, NO_TRAFFIC_RESULT = "traffic", "no_traffic"


def activation_key(config: str, endpoint_id: str, app: str, result: str) -> str:
    return f"{config}.{endpoint_id}.{app}.{result}"


def _window_text(start_ms: int, end_ms: int) -> str:
    import datetime as dt

    start = dt.datetime.fromtimestamp(start_ms / 1000, dt.UTC)
    end = dt.datetime.fromtimestamp(end_ms / 1000, dt.UTC)
    same_day = start.date() == (end - dt.timedelta(microseconds=1)).date()  # a window ending at midnight too
    return f"{start:%Y-%m-%d %H:%M}–{end.strftime('%H:%M' if same_day else '%Y-%m-%d %H:%M')} UTC"


class Evaluator:
    """Turns writer events into activation changes and :class:`Notification` s.

    ``configs`` gives the configs to evaluate (by default the project's stored ones, read again at most every
    ``refresh_s`` seconds, plus ``extra`` — the quick-start config).
    """

    def __init__(self, kv: KV, paths: ProjectPaths, *, extra: Iterable[AlertConfig] = (),
                 refresh_s: float = 10.0, clock: Callable[[], int] = now_ms) -> None:
        self.kv, self.paths, self.table, self.clock = kv, paths, paths.alert_activations_table, clock
        self.store = AlertConfigStore(kv, paths)
        self.extra = tuple(extra)
        self.refresh_ms = int(refresh_s * 1000)
        self._configs: list[AlertConfig] = []
        self._loaded_ms: int | None = None
        self._outbox: Outbox | None = None

    def configs(self) -> list[AlertConfig]:
        """The stored configs and the extra ones, cached for ``refresh_s``."""
        now = self.clock()
        if self._loaded_ms is None or now - self._loaded_ms >= self.refresh_ms:
            self._configs = [*self.store.list(), *self.extra]
            self._loaded_ms = now
        return self._configs

    # ------------------------------------------------------------------------------ evaluation
    def evaluate(self, event: WriterEvent, outbox: Outbox | None = None) -> list[Notification]:
        """Apply ``event`` to every config that watches it; the notifications of the transitions it caused.

        ``outbox`` (delivery's idempotent ``enqueue``) receives each notification *before* the activation that
        caused it is stored: a crash in between evaluates the window again and enqueues the same key again,
        instead of storing the transition and losing its notification.
        """
        self._outbox = outbox
        out: list[Notification] = []
        for config in self.configs():
            if not config.watches(event.endpoint_id, event.endpoint_name, event.app_name):
                continue
            if event.error is not None:
                if APP_FAILED in config.events:
                    out += self._apply(config, event, FAILED_RESULT, None, "failed", matched=True, clears=False)
                continue
            if APP_FAILED in config.events:
                out += self._apply(config, event, FAILED_RESULT, None, "ok", matched=False, clears=True)
            wanted = config.result_events
            if not wanted:
                continue
            for result in event.results:
                if not config.watches(event.endpoint_id, event.endpoint_name, event.app_name, result.name):
                    continue
                suffix = _SUFFIX.get(result.status)
                matched = suffix is not None and f"{result.kind.name}_{suffix}" in wanted
                clears = result.status == ResultStatusApp.no_detection
                if matched or clears:
                    out += self._apply(config, event, result.name, result.value, result.status.name,
                                       matched=matched, clears=clears)
        return out

    def _apply(self, config: AlertConfig, event: WriterEvent, result: str, value: float | None, status: str,
               *, matched: bool, clears: bool) -> list[Notification]:
        key = activation_key(config.name, event.endpoint_id, event.app_name, result)
        for _ in range(_CAS_TRIES):
            item = self.kv.get(self.table, key)
            if item is None and not matched:
                return []  # nothing to resolve, nothing to count
            if item is not None and event.end_ms <= int(item.get("last_window_end_ms") or 0):
                return []  # this window (or a later one) was evaluated already: a redelivery
            new, state = self._next(config, item, event, result, value, status, matched=matched, clears=clears)
            if new is None:
                return []
            notes = [] if state is None else [self._notification(config, event, result, value, status, state)]
            if notes and self._outbox is not None:
                self._outbox(notes)
            version = int(item["version"]) if item is not None else 0
            condition = [Cond.eq("version", version)] if item is not None else [Cond("version", Op.NOT_EXISTS)]
            if self.kv.update(self.table, key, {**new, "version": version + 1}, condition=condition):
                return notes
        raise RuntimeError(f"alert activation {key!r} kept changing under this evaluator")

    def _next(self, config: AlertConfig, item: Item | None, event: WriterEvent, result: str, value: float | None,
              status: str, *, matched: bool, clears: bool) -> tuple[Item | None, str | None]:
        """The item's new attributes (``None``: nothing to write) and the state it turned to (``None``: no
        transition). A window that changes neither state nor hits is not written: the writer stream carries
        every result, and most of them change nothing."""
        end = event.end_ms
        old = item or {}
        state = old.get("state") or RESOLVED
        hits: list[int] = json.loads(old.get("hits") or "[]")
        history: list[dict[str, Any]] = json.loads(old.get("history") or "[]")
        last_active = old.get("activated_window_end_ms")
        new: Item = {"config": config.name, "endpoint_id": event.endpoint_id,
                     "endpoint_name": event.endpoint_name or old.get("endpoint_name") or "",
                     "app": event.app_name, "result": result, "severity": config.severity,
                     "last_window_end_ms": end, "last_status": status}
        turned: str | None = None
        before = list(hits)
        if matched and state != ACTIVE:  # an active alert counts nothing more until it is resolved
            hits = [h for h in hits if h > end - config.period_s * 1000] + [end]
            cooled = last_active is None or end >= int(last_active) + config.cooldown_s * 1000
            if state != ACTIVE and len(hits) >= config.count and cooled:
                turned, hits = ACTIVE, []
                new["activated_window_end_ms"] = end
                new["activations"] = int(old.get("activations") or 0) + 1
        elif clears and state == ACTIVE and config.reset_policy == "auto":
            turned = RESOLVED
        if turned is not None:
            state = turned
            new.update(state=state, value=value, status=status, window_start_ms=event.start_ms, window_end_ms=end,
                       summary=self._summary(config, event, result, value, status, state), changed_ms=self.clock())
            entry = {"state": state, "window_end_ms": end, "time_ms": self.clock(), "value": value, "status": status}
            history = [*history, entry][-MAX_HISTORY:]
        if item is not None and turned is None and hits == before:
            return None, None  # nothing changed: no write (evaluating this window again changes nothing either)
        new.update(state=state, hits=json.dumps(hits), history=json.dumps(history))
        return new, turned

    def _summary(self, config: AlertConfig, event: WriterEvent, result: str, value: float | None, status: str,
                 state: str) -> str:
        event_name = APP_FAILED if result == FAILED_RESULT and event.error is not None else status
        return config.render(config=config.name, severity=config.severity,
                             endpoint=event.endpoint_name or event.endpoint_id, endpoint_id=event.endpoint_id,
                             app=event.app_name, result=result, value="" if value is None else f"{value:.4g}",
                             window=_window_text(event.start_ms, event.end_ms), status=status, state=state,
                             event=event_name)

    def _notification(self, config: AlertConfig, event: WriterEvent, result: str, value: float | None,
                      status: str, state: str) -> Notification:
        return Notification(
            key=notification_key(config.name, event.endpoint_id, event.app_name, result, event.end_ms, state),
            config=config.name, severity=config.severity, state=state,
            summary=self._summary(config, event, result, value, status, state),
            endpoint_id=event.endpoint_id, endpoint_name=event.endpoint_name, app=event.app_name, result=result,
            value=value, status=status, window_start_ms=event.start_ms, window_end_ms=event.end_ms,
            time_ms=self.clock(), channels=config.notifications)

    def check_traffic(self, endpoints: Iterable[tuple[str, str, int | None]], period_ms: int,
                      outbox: Outbox | None = None) -> list[Notification]:
        """Apply the ``no_traffic`` configs to ``endpoints`` (``(id, name, last_request_ms)``) at the last
        whole ``period_ms`` window: no request for ``no_traffic_windows`` windows activates (value: idle
        minutes); traffic again resolves under ``auto``. An endpoint that never had traffic is skipped."""
        self._outbox = outbox
        now = self.clock()
        end = now - now % period_ms
        out: list[Notification] = []
        configs = [c for c in self.configs() if NO_TRAFFIC in c.events]
        for endpoint_id, name, last in endpoints if configs else ():
            if last is None:
                continue
            idle_ms = end - last
            event = WriterEvent(project="", endpoint_id=endpoint_id, endpoint_name=name, app_name=TRAFFIC_APP,
                                start_ms=min(last, end - period_ms), end_ms=end)
            for config in configs:
                if config.endpoints and endpoint_id not in config.endpoints and name not in config.endpoints:
                    continue  # app and result filters are about results: traffic has neither
                silent = idle_ms >= config.no_traffic_windows * period_ms
                out += self._apply(config, event, NO_TRAFFIC_RESULT, round(idle_ms / 60_000, 1),
                                   "no_traffic" if silent else "traffic", matched=silent, clears=not silent)
        return out

    # ------------------------------------------------------------------------------ reading, resetting
    def activations(self, *, config: str | None = None, active_only: bool = False) -> list[Item]:
        """The activation items (optionally of one config, or only the active ones), by key."""
        return [item for _, item in read_activations(self.kv, self.paths, config=config,
                                                     state=ACTIVE if active_only else None)]

    def reset(self, config: str, endpoint: str | None = None, outbox: Outbox | None = None) -> int:
        """Resolve the active activations of ``config`` (only ``endpoint``'s, by id or name, when given);
        their history records the manual reset, and ``outbox`` (``Deliveries.enqueue``) gets a ``resolved``
        notification for each to the config's channels. Returns how many were reset."""
        configs = {c.name: c for c in self.configs()}
        done, known = 0, config in configs
        for key, item in scan_all(self.kv, self.table):
            if item.get("config") != config:
                continue
            known = True  # a deleted config's activations can still be reset
            if item.get("state") != ACTIVE:
                continue
            if endpoint is not None and endpoint not in (item.get("endpoint_id"), item.get("endpoint_name")):
                continue
            now = self.clock()
            entry = {"state": RESOLVED, "reset": "manual", "time_ms": now}
            history = [*json.loads(item.get("history") or "[]"), entry][-MAX_HISTORY:]
            version = int(item["version"])
            if outbox is not None and config in configs:  # before the write, as transitions are (idempotent key)
                outbox([self._reset_notification(configs[config], item, now)])
            if self.kv.update(self.table, key, {"state": RESOLVED, "changed_ms": now, "history": json.dumps(history),
                                                "hits": "[]", "version": version + 1},
                              condition=[Cond.eq("version", version)], create=False):
                done += 1
        if not known:
            raise NotFound(f"no alert config named {config!r}")
        return done

    @staticmethod
    def _reset_notification(config: AlertConfig, item: Item, now: int) -> Notification:
        """The notification of a manual reset of activation ``item`` (keyed by its activating window, so a
        reset retried after a crash is enqueued once)."""
        endpoint_id, app, result = str(item["endpoint_id"]), str(item["app"]), str(item["result"])
        start, end = int(item.get("window_start_ms") or 0), int(item.get("window_end_ms") or 0)
        value = item.get("value")
        value = None if value is None else float(value)
        status = str(item.get("status") or "")
        summary = config.render(config=config.name, severity=config.severity,
                                endpoint=item.get("endpoint_name") or endpoint_id, endpoint_id=endpoint_id,
                                app=app, result=result, value="" if value is None else f"{value:.4g}",
                                window=_window_text(start, end), status=status, state=RESOLVED,
                                event="manual_reset")
        return Notification(key=notification_key(config.name, endpoint_id, app, result, end, "reset"),
                            config=config.name, severity=config.severity, state=RESOLVED, summary=summary,
                            endpoint_id=endpoint_id, endpoint_name=str(item.get("endpoint_name") or ""), app=app,
                            result=result, value=value, status=status, window_start_ms=start, window_end_ms=end,
                            time_ms=now, channels=config.notifications)
