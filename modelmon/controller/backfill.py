"""Analysing past traffic on purpose: move where an endpoint's analysis starts back to a given time.

A new endpoint × app pair starts at the later of its first request and ``now - backfill`` (the
horizon, a day by default), so traffic replayed from last week is skipped; the controller records it
on the endpoint (``skipped_from_ms``/``skipped_until_ms``) and warns. :func:`backfill` sets each
pair's progress back to ``since`` (aligned to its period, never before the first request) with the
controller's own compare-and-set, and the next controller runs dispatch the windows from there, at
most :data:`~modelmon.controller.schedule.MAX_WINDOWS_PER_RUN` per pair and run. Windows that were
analysed before are analysed again: results are keyed by window, so they are replaced, not doubled.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from modelmon.apps.registry import AppRegistry, RegisteredApp
from modelmon.backends.base import Backend, Cond
from modelmon.controller.claims import ClaimLedger
from modelmon.controller.schedule import PairState, schedule_key
from modelmon.controller.windows import floor_to
from modelmon.core.errors import BackendUnavailable, NotFound
from modelmon.core.paths import ProjectPaths
from modelmon.core.timeutil import TimeLike, now_ms, to_ms
from modelmon.endpoints.record import ModelEndpoint
from modelmon.endpoints.store import EndpointStore

_MAX_ATTEMPTS = 8


@dataclasses.dataclass(frozen=True)
class Backfill:
    """One pair set back: the controller's next runs dispatch its windows ``[from_ms, until_ms)`` again."""

    endpoint_id: str
    app_name: str
    from_ms: int
    until_ms: int  # the pair's progress when it was set back (``from_ms`` when there was none)


def backfill(backend: Backend, project: str, endpoint_id: str, since: TimeLike, *,
             apps: Sequence[str] | None = None, base_period_minutes: int = 10,
             now: int | None = None) -> list[Backfill]:
    """Have the controller analyse ``endpoint_id``'s traffic from ``since`` on, for ``apps`` (default: every
    enabled app that monitors the endpoint).

    ``NotFound`` for an unknown endpoint; ``ValueError`` for a time that is not in the past, an endpoint
    without traffic, or an app that does not monitor it; ``BackendUnavailable`` while a controller run is
    dispatching the pair's windows (try again a minute later).
    """
    now = now_ms() if now is None else now
    since_ms = to_ms(since)
    if since_ms >= now:
        raise ValueError(f"since {since!r}: backfill analyses past traffic; give a time before now")
    paths = ProjectPaths(project)
    endpoint = EndpointStore(backend.kv, paths).get(endpoint_id)
    if endpoint is None:
        raise NotFound(f"project {project!r} has no model endpoint {endpoint_id!r}")
    if endpoint.first_request_ms is None:
        raise ValueError(f"endpoint {endpoint_id!r} has no traffic yet: there is nothing to backfill")
    done = []
    for app in _apps(AppRegistry(backend.kv, paths), endpoint, apps):
        period = app.period_ms(base_period_minutes)
        start = floor_to(max(since_ms, endpoint.first_request_ms), period)
        done.append(_set_back(backend, paths, endpoint_id, app.name, start))
    if done:  # running controllers plan the pairs set back at their next run (not when next due)
        ClaimLedger(backend.kv, paths.claims_table).mark_backfill(now)
    return done


def _apps(registry: AppRegistry, endpoint: ModelEndpoint, names: Sequence[str] | None) -> list[RegisteredApp]:
    monitoring = [app for app in registry.list(enabled_only=True)
                  if app.applies_to(endpoint.endpoint_id, endpoint.name, endpoint.labels)]
    if names is None:
        if not monitoring:
            raise ValueError(f"no enabled application monitors endpoint {endpoint.endpoint_id!r}")
        return monitoring
    known = {app.name: app for app in monitoring}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"application(s) {', '.join(map(repr, unknown))} do not monitor endpoint "
                         f"{endpoint.endpoint_id!r}; those that do: {', '.join(sorted(known)) or 'none'}")
    return [known[name] for name in names]


def _set_back(backend: Backend, paths: ProjectPaths, endpoint_id: str, app_name: str, start: int) -> Backfill:
    """One compare-and-set of the pair's progress, as the controller makes them (retried on a race)."""
    table, key = paths.schedules_table, schedule_key(endpoint_id, app_name)
    for _ in range(_MAX_ATTEMPTS):
        state = PairState.from_item(backend.kv.get(table, key) or {})
        if state is None:
            set_ = {"endpoint_id": endpoint_id, "app_name": app_name, "last_analyzed_ms": start, "claim_id": "",
                    "first_planned_ms": start}
            if backend.kv.update(table, key, set_, condition=[Cond.not_exists("last_analyzed_ms")]):
                return Backfill(endpoint_id, app_name, start, start)
            continue
        if start >= state.last_analyzed_ms:  # nothing before its progress to redo: it gets there anyway
            return Backfill(endpoint_id, app_name, state.last_analyzed_ms, state.last_analyzed_ms)
        if state.claim_id and state.claim_id not in ClaimLedger(backend.kv, paths.claims_table).confirmed():
            raise BackendUnavailable(f"{key}: a controller run is dispatching its windows now; try again in a minute")
        set_ = {"last_analyzed_ms": start, "claim_id": "", "pending_from_ms": None, "claimed_ms": None,
                "first_planned_ms": min(start, state.first_planned_ms or start)}
        condition = [Cond.eq("last_analyzed_ms", state.last_analyzed_ms), Cond.eq("claim_id", state.claim_id)]
        if backend.kv.update(table, key, set_, condition=condition):
            return Backfill(endpoint_id, app_name, start, state.last_analyzed_ms)
    raise BackendUnavailable(f"{key}: its progress kept changing; try again")
