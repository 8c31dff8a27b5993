"""How far each registered app has got: windows analysed, pending and failed, from what the controller
and the writer store (the status command's per-app half; ``modelmon.service.status`` assembles it).

Definitions (``docs/local-runtime.md``, "modelmon status", says the same to users):

- **analysed**: windows (endpoint x window) with at least one result or metric in the history
  (``app_results_tsdb``, ``metrics_tsdb``). A window the app returned nothing for stores nothing and is
  not counted; a window that failed is counted under *failed*, not here.
- **failed**: windows with an item in ``app_failures_table`` (the writer deletes it when the window later
  succeeds, so these are windows whose last attempt failed).
- **pending** = *queued* + *not dispatched*:
  *queued* are the window events in the records of the app's stream its consumer group has not committed
  (a record packs up to a hundred of them: :func:`queued_messages`; dispatched,
  not yet taken by the app; with no function running they pile up here); *not dispatched* are the
  closed windows with traffic that the controller's next run would dispatch (``plan_pair`` on the stored
  schedule, the same closing rule and activity test the controller uses). A window the app has analysed
  whose writer event the writer has not stored yet is in neither: it shows as the writer's lag.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pandas as pd

from modelmon import queries
from modelmon.apps.registry import RegisteredApp
from modelmon.backends.base import Backend, SeekTo, Stream, scan_all
from modelmon.controller.activity import RequestActivity
from modelmon.controller.claims import ClaimLedger
from modelmon.controller.schedule import PairPlan, PairState, plan_pair, schedule_key
from modelmon.controller.windows import ClosingRule
from modelmon.core.errors import NotFound
from modelmon.core.paths import ProjectPaths
from modelmon.endpoints.record import ModelEndpoint
from modelmon.endpoints.store import EndpointStore
from modelmon.functions import packing

DAY_MS = 86_400_000
_FOREVER_MS = 1 << 62


@dataclasses.dataclass(frozen=True)
class Window:
    """One window ``[start_ms, end_ms)``."""

    start_ms: int
    end_ms: int


@dataclasses.dataclass(frozen=True)
class Failure:
    """A window an app failed on, as stored by the writer (older items lack type and location)."""

    endpoint_id: str
    endpoint: str  # the endpoint's name ("" when it has none)
    window: Window
    error_type: str | None
    message: str
    location: str | None  # "file:line" in the app's code
    time_ms: int | None


@dataclasses.dataclass(frozen=True)
class AppProgress:
    """The stored progress of one app (see the module docstring for each count)."""

    analysed: int = 0
    failed: int = 0
    queued: int = 0
    not_dispatched: int = 0
    oldest: Window | None = None
    newest: Window | None = None
    failures_24h: tuple[Failure, ...] = ()

    @property
    def pending(self) -> int:
        return self.queued + self.not_dispatched


@dataclasses.dataclass(frozen=True)
class Timing:
    """The controller's settings the closing rule needs (the project's, as its controller runs them)."""

    base_period_minutes: int
    grace_minutes: int
    backfill_minutes: int
    lease_ms: int = 120_000


def stream_lag(streams: Stream, path: str, group: str) -> int:
    """Records of ``path`` that ``group`` has not consumed, over every shard; 0 for a missing stream.

    ``committed`` is the next sequence the group reads and ``seek(LATEST)`` the one after the newest
    record, so their difference is the records behind. Records older than the retention can no longer be
    read and are not counted; a group that never committed starts at the oldest retained record (every
    bundle trigger seeks ``earliest``), so all of them count.
    """
    return sum(end - start for _, start, end in _unconsumed(streams, path, group))


#: Unconsumed records :func:`queued_messages` reads to count their messages; beyond them it extrapolates.
COUNTED_RECORDS = 10_000


def queued_messages(streams: Stream, path: str, group: str, counted_records: int = COUNTED_RECORDS) -> int:
    """Messages in the records of ``path`` that ``group`` has not consumed (as :func:`stream_lag` counts
    records): the controller packs up to a hundred windows into one record, so the records behind an app
    are not its windows behind. The first ``counted_records`` records are read and their messages counted;
    the rest (a backlog of days) count as many messages each as those did on average, so the figure stays
    quick to get. A record that is no readable pack counts once, as its reader dead-letters it once.
    """
    counted = messages = remaining = 0
    for shard, start, end in _unconsumed(streams, path, group):
        sequence = start
        while sequence < end and counted < counted_records:
            records = streams.read(path, shard, sequence, limit=min(1000, end - sequence, counted_records - counted))
            if not records:
                break
            for record in records:
                messages += _message_count(record.data)
            counted += len(records)
            sequence = records[-1].sequence + 1
        remaining += max(0, end - sequence)
    return messages + (round(remaining * messages / counted) if counted else remaining)


def _message_count(data: bytes) -> int:
    try:
        packed = packing.packed_messages(data)
    except packing.UnreadablePack:
        return 1
    return 1 if packed is None else len(packed)


def _unconsumed(streams: Stream, path: str, group: str) -> Iterator[tuple[int, int, int]]:
    """(shard, first sequence ``group`` has not consumed, the sequence after the newest) per shard of
    ``path`` with records behind; nothing for a missing stream."""
    try:
        shards = streams.describe(path).shards
    except NotFound:
        return
    for shard in range(shards):
        end = streams.seek(path, shard, SeekTo.LATEST)
        start = streams.seek(path, shard, SeekTo.EARLIEST)
        committed = streams.committed(path, group, shard)
        if committed is not None:
            start = max(start, committed)
        if end > start:
            yield shard, start, end


def app_progress(
    backend: Backend,
    project: str,
    apps: Sequence[RegisteredApp],
    groups: Mapping[str, str],
    timing: Timing,
    now_ms: int,
) -> dict[str, AppProgress]:
    """Progress per app name. ``groups`` maps an app to the consumer group of its function (default: its
    name, the group the bundle's app functions use)."""
    paths = ProjectPaths(project)
    endpoints = list(EndpointStore(backend.kv, paths).scan(brief=True))
    names = {ep.endpoint_id: ep.name for ep in endpoints}
    analysed = _analysed(backend, project, {a.name: _period_ms(a, timing) for a in apps})
    failures = queries.app_failures(backend, project).to_dict("records")
    pending = _not_dispatched(backend, paths, apps, endpoints, timing, now_ms)
    out = {}
    for app in apps:
        done = analysed.get(app.name)
        mine = [f for f in failures if f.get("app_name") == app.name]
        recent = [_failure(f, names) for f in mine if (_int(f.get("time_ms")) or 0) >= now_ms - DAY_MS]
        recent.sort(key=lambda f: (-(f.time_ms or 0), -f.window.start_ms, f.endpoint_id))
        out[app.name] = AppProgress(
            analysed=done.count if done else 0,
            failed=len(mine),
            queued=queued_messages(backend.streams, paths.app_stream(app.name), groups.get(app.name, app.name)),
            not_dispatched=pending.get(app.name, 0),
            oldest=done.oldest if done else None,
            newest=done.newest if done else None,
            failures_24h=tuple(recent),
        )
    return out


def _period_ms(app: RegisteredApp, timing: Timing) -> int:
    try:
        return app.period_ms(timing.base_period_minutes)
    except ValueError:  # the controller skips such an app; its windows are still of its own length
        return (app.base_period_minutes or timing.base_period_minutes) * 60_000


@dataclasses.dataclass(frozen=True)
class _Analysed:
    count: int
    oldest: Window
    newest: Window


def _analysed(backend: Backend, project: str, periods: Mapping[str, int]) -> dict[str, _Analysed]:
    """Per app, how many windows (endpoint × window end) have a stored result or metric, and the oldest
    and newest of them.

    Only which windows exist matters here, not their newest values, so the history tables are read raw
    (no per-row naming or newest-write selection) and counted with pandas: a home of 10,000 endpoints
    takes a fraction of what the SDK's readers would."""
    paths = ProjectPaths(project)
    frames = []
    for table in (paths.app_results_tsdb, paths.metrics_tsdb):  # results first: their start wins below
        try:
            df = backend.tsdb.read(table, 0, _FOREVER_MS, columns=["start_ms"])
        except NotFound:  # nothing was ever written
            continue
        if not df.empty:
            start = df["start_ms"] if "start_ms" in df else pd.Series(float("nan"), index=df.index)
            frames.append(pd.DataFrame({"app": df["app_name"], "endpoint": df["endpoint_id"],
                                        "end": df["time"].astype("int64"), "start": start}))
    if not frames:
        return {}
    df = pd.concat(frames, ignore_index=True).drop_duplicates(["app", "endpoint", "end"])
    # metrics written before they carried their start: the window is the app's period long
    period = df["app"].map(periods)
    df["start"] = df["start"].fillna(df["end"] - period)
    df = df.dropna(subset=["start"]).astype({"start": "int64"})
    out = {}
    for app, rows in df.groupby("app", sort=False):
        first = rows.sort_values(["start", "end"], kind="stable").iloc[0]
        last = rows.sort_values(["end", "start"], kind="stable").iloc[-1]
        out[str(app)] = _Analysed(len(rows), Window(int(first["start"]), int(first["end"])),
                                  Window(int(last["start"]), int(last["end"])))
    return out


def _not_dispatched(backend: Backend, paths: ProjectPaths, apps: Sequence[RegisteredApp],
                    endpoints: Sequence[ModelEndpoint], timing: Timing, now_ms: int) -> dict[str, int]:
    """Per app, the windows with traffic the controller's next run would dispatch."""
    states = {}
    for key, item in scan_all(backend.kv, paths.schedules_table):
        state = PairState.from_item(item)
        if state is not None:
            states[key] = state
    confirmed = ClaimLedger(backend.kv, paths.claims_table).confirmed()
    plans: list[PairPlan] = []
    for app in apps:
        if not app.enabled:
            continue
        try:
            rule = ClosingRule(app.period_ms(timing.base_period_minutes), timing.grace_minutes * 60_000,
                               timing.backfill_minutes * 60_000)
        except ValueError:  # the controller skips this app too
            continue
        for ep in endpoints:
            if not app.applies_to(ep.endpoint_id, ep.name, ep.labels):
                continue
            plan = plan_pair(endpoint_id=ep.endpoint_id, app_name=app.name,
                             state=states.get(schedule_key(ep.endpoint_id, app.name)),
                             first_request_ms=ep.first_request_ms, watermark_ms=ep.watermark_ms, rule=rule,
                             now_ms=now_ms, lease_ms=timing.lease_ms, confirmed=confirmed)
            if plan is not None and plan.dispatch_to_ms > plan.dispatch_from_ms:
                plans.append(plan)
    if not plans:
        return {}
    spans: dict[str, tuple[int, int]] = {}
    for p in plans:
        start, end = spans.get(p.endpoint_id, (p.dispatch_from_ms, p.dispatch_to_ms))
        spans[p.endpoint_id] = (min(start, p.dispatch_from_ms), max(end, p.dispatch_to_ms))
    activity = RequestActivity.load(backend.tsdb, (paths.predictions_tsdb, paths.errors_tsdb), spans,
                                    timing.base_period_minutes * 60_000)
    counts: dict[str, int] = {}
    for p in plans:
        counts[p.app_name] = counts.get(p.app_name, 0) + len(activity.busy(p.endpoint_id, p.window_range,
                                                                           p.period_ms))
    return counts


def _failure(row: Mapping[Any, Any], names: Mapping[str, str]) -> Failure:
    """A failure row of ``queries.app_failures``; items written before the failure details carry only
    ``error`` ("Type: message"), whose type is then read from its text."""
    error = str(row.get("error") or "")
    error_type = _text(row.get("error_type"))
    head, sep, rest = error.partition(": ")
    if error_type is None and sep and head.replace(".", "").replace("_", "").isalnum():
        error_type = head
    message = rest if error_type is not None and sep and head == error_type else error
    endpoint_id = str(row.get("endpoint_id") or "")
    return Failure(
        endpoint_id=endpoint_id,
        endpoint=names.get(endpoint_id, ""),
        window=Window(_int(row.get("start_ms")) or 0, _int(row.get("end_ms")) or 0),
        error_type=error_type,
        message=message,
        location=_text(row.get("location")),
        time_ms=_int(row.get("time_ms")),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    """``value`` as an int; ``None`` for a missing one (``None`` or NaN from a frame) or a bad one."""
    try:
        return None if value is None or pd.isna(value) else int(value)
    except (TypeError, ValueError):
        return None
