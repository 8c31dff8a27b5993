"""What ``modelmon status`` reports about a home: its service's functions and its registered apps.

Functions come from the state file the local service rewrites about every second
(``<home>/service/state.json``, read with :func:`modelmon.service.state.read_state`: pid, state, restarts,
last error and the streams each function consumes);
their lag is read from the backend (:func:`~modelmon.service.app_progress.stream_lag`). Apps come from
the registry and what the controller and writer stored (:mod:`modelmon.service.app_progress`), so they
are reported also when the service is not running, which is when a registered app silently stops.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from modelmon.apps.registry import AppRegistry, RegisteredApp
from modelmon.backends.base import Backend
from modelmon.core.config import Settings
from modelmon.core.errors import NotFound
from modelmon.core.paths import ProjectPaths
from modelmon.core.project_record import recorded_base_period
from modelmon.core.timeutil import iso
from modelmon.endpoints.store import EndpointStore
from modelmon.service.app_progress import AppProgress, Failure, Timing, Window, app_progress, stream_lag

#: The most failures of the last 24 h listed per app in the JSON (the newest; ``failures_24h_total``
#: counts them all): an app failing on every window of many endpoints would otherwise print thousands.
MAX_FAILURES_LISTED = 50
RUNNING = "running"
#: Functions are listed in the data flow's order, apps and others after the core by name.
_ROLE_ORDER = {"stream": 0, "controller": 1, "writer": 2, "labels": 3, "app": 4}


@dataclasses.dataclass(frozen=True)
class StreamLag:
    path: str
    group: str
    lag: int


@dataclasses.dataclass(frozen=True)
class FunctionStatus:
    """One function of the service, as its state file says, with the lag of each stream it consumes."""

    name: str
    role: str
    state: str
    pid: int | None
    uptime_s: float | None  # while running
    restarts: int
    last_error: str | None
    streams: tuple[StreamLag, ...] = ()

    @property
    def lag(self) -> int | None:
        """Records behind over its streams; ``None`` for a function that consumes none (the controller)."""
        return sum(s.lag for s in self.streams) if self.streams else None


@dataclasses.dataclass(frozen=True)
class AppStatus:
    """One registered app: its function (if the service runs one) and its progress."""

    name: str
    class_path: str
    enabled: bool
    function: str | None  # the service's function running it
    function_state: str | None
    progress: AppProgress

    @property
    def running(self) -> bool:
        return self.function_state == RUNNING


@dataclasses.dataclass(frozen=True)
class ProjectStatus:
    project: str
    functions: tuple[FunctionStatus, ...]
    apps: tuple[AppStatus, ...]
    service_running: bool

    @property
    def warnings(self) -> list[str]:
        """What needs a person: apps nothing analyses, functions that failed."""
        out = []
        for fn in self.functions:
            if fn.state == "failed":
                out.append(f"function {fn.name} failed: {fn.last_error or 'no error recorded'}")
        for app in self.apps:
            if not app.enabled or app.running:
                continue
            pending = app.progress.pending
            if not self.service_running:
                why = "the service is not running"
            elif app.function is None:
                why = "the service runs no function for it"
            else:
                why = f"its function {app.function} is {app.function_state}"
            out.append(f"app {app.name} is registered but not running ({why}): {pending} window(s) pending")
        return out


@dataclasses.dataclass(frozen=True)
class HomeStatus:
    home: str
    now_ms: int
    service: Mapping[str, Any] | None  # the state file's service fields; None: no service runs
    projects: tuple[ProjectStatus, ...]

    @property
    def running(self) -> bool:
        return self.service is not None

    def to_json(self) -> dict[str, Any]:
        """The documented ``modelmon status --json`` object (``docs/local-runtime.md``)."""
        service: dict[str, Any] = {"running": False, "pid": None, "started": None, "uptime_s": None, "updated": None}
        if self.service is not None:
            started, updated = _opt_int(self.service.get("started_ms")), _opt_int(self.service.get("updated_ms"))
            service = {"running": True, "pid": _opt_int(self.service.get("pid")),
                       "started": _iso(started), "uptime_s": _seconds(self.now_ms, started), "updated": _iso(updated)}
        return {
            "home": self.home, "time": iso(self.now_ms), "service": service,
            "projects": {p.project: _project_json(p) for p in self.projects},
        }


def project_timing(settings: Settings, project: str) -> Timing:
    """The controller settings of ``project``: its recorded base period (``projects/<p>/project.json``,
    written by the SDK) over the environment's."""
    period = recorded_base_period(settings.home, project) or settings.base_period_minutes
    return Timing(period, settings.grace_minutes, settings.backfill_minutes)


def known_projects(backend: Backend, home: str | Path, state: Mapping[str, Any] | None,
                   candidates: Sequence[str] = ()) -> list[str]:
    """Projects the home knows: run by the service, with a ``projects/<name>/`` folder (the SDK's record,
    the service's functions), or (of ``candidates``) holding endpoints or registered apps."""
    names = set(_state_projects(state))
    root = Path(home) / "projects"
    if root.is_dir():
        names.update(p.name for p in root.iterdir() if p.is_dir() and _valid_project(p.name))
    names.update(c for c in candidates if c not in names and _has_data(backend, c))
    return sorted(names)


def check_project(backend: Backend, home: str | Path, state: Mapping[str, Any] | None, project: str) -> None:
    """``NotFound`` unless ``home`` knows ``project``."""
    ProjectPaths(project)  # a bad name is a ValueError
    if project not in known_projects(backend, home, state, [project]):
        raise NotFound(f"modelmon home {home} has no project {project!r} (no service, record, endpoint or app)")


def home_status(backend: Backend, settings: Settings, projects: Sequence[str], state: Mapping[str, Any] | None,
                now_ms: int) -> HomeStatus:
    """The status of ``projects`` in the home of ``settings``; ``state`` is the service's (None: not running)."""
    states = _state_projects(state)
    out = []
    for project in projects:
        functions = function_statuses(backend, states.get(project, {}), now_ms)
        out.append(_project(backend, project, functions, project_timing(settings, project), now_ms,
                            state is not None))
    service = None if state is None else {k: state.get(k) for k in ("pid", "started_ms", "updated_ms")}
    return HomeStatus(str(Path(settings.home).resolve()), now_ms, service, tuple(out))


def _state_projects(state: Mapping[str, Any] | None) -> dict[str, Any]:
    projects = state.get("projects") if state is not None else None
    return projects if isinstance(projects, dict) else {}


def _valid_project(name: str) -> bool:
    try:
        ProjectPaths(name)
    except ValueError:
        return False
    return True


def _has_data(backend: Backend, project: str) -> bool:
    paths = ProjectPaths(project)
    return bool(AppRegistry(backend.kv, paths).list()) or next(EndpointStore(backend.kv, paths).scan(brief=True),
                                                                None) is not None


def function_statuses(backend: Backend, project_state: Mapping[str, Any], now_ms: int) -> list[FunctionStatus]:
    """Each function of a project's service state with its streams' lag (what `modelmon status` and the
    Prometheus exporter show), in the data flow's order."""
    functions = project_state.get("functions") if isinstance(project_state, Mapping) else None
    out = []
    for name, fn in (functions or {}).items():
        streams = tuple(
            StreamLag(str(s["path"]), str(s["group"]), stream_lag(backend.streams, str(s["path"]), str(s["group"])))
            for s in fn.get("streams") or () if isinstance(s, Mapping) and s.get("path") and s.get("group")
        )
        state = str(fn.get("state") or "unknown")
        started = _opt_int(fn.get("started_ms"))
        out.append(FunctionStatus(
            name=name, role=str(fn.get("role") or ""), state=state, pid=_opt_int(fn.get("pid")),
            uptime_s=_seconds(now_ms, started) if state == RUNNING else None,
            restarts=_opt_int(fn.get("restarts")) or 0, last_error=fn.get("last_error") or None, streams=streams,
        ))
    return sorted(out, key=lambda f: (_ROLE_ORDER.get(f.role, len(_ROLE_ORDER)), f.name))


def _project(backend: Backend, project: str, functions: list[FunctionStatus], timing: Timing, now_ms: int,
             service_running: bool) -> ProjectStatus:
    apps = AppRegistry(backend.kv, ProjectPaths(project)).list()
    runners = {app.name: _runner(app, functions, project) for app in apps}
    paths = ProjectPaths(project)
    groups = {name: s.group for name, fn in runners.items() if fn is not None
              for s in fn.streams if s.path == paths.app_stream(name)}
    progress = app_progress(backend, project, apps, groups, timing, now_ms)
    statuses = tuple(
        AppStatus(app.name, app.class_path, app.enabled, fn.name if fn else None, fn.state if fn else None,
                  progress[app.name])
        for app in apps for fn in [runners[app.name]]
    )
    return ProjectStatus(project, tuple(functions), statuses, service_running)


def _runner(app: RegisteredApp, functions: Sequence[FunctionStatus], project: str) -> FunctionStatus | None:
    """The function consuming the app's stream (else an app function of the app's name)."""
    stream = ProjectPaths(project).app_stream(app.name)
    for fn in functions:
        if any(s.path == stream for s in fn.streams):
            return fn
    return next((fn for fn in functions if fn.name == app.name), None)


def _project_json(p: ProjectStatus) -> dict[str, Any]:
    return {
        "functions": [
            {"name": f.name, "role": f.role, "state": f.state, "pid": f.pid, "uptime_s": f.uptime_s,
             "restarts": f.restarts, "lag": f.lag, "last_error": f.last_error,
             "streams": [dataclasses.asdict(s) for s in f.streams]}
            for f in p.functions
        ],
        "apps": [_app_json(a) for a in p.apps],
        "warnings": p.warnings,
    }


def _app_json(a: AppStatus) -> dict[str, Any]:
    g = a.progress
    return {
        "name": a.name, "class_path": a.class_path, "enabled": a.enabled, "function": a.function,
        "running": a.running, "windows_analysed": g.analysed, "windows_pending": g.pending,
        "windows_queued": g.queued, "windows_not_dispatched": g.not_dispatched, "windows_failed": g.failed,
        "oldest_window": _window_json(g.oldest), "newest_window": _window_json(g.newest),
        "failures_24h_total": len(g.failures_24h),
        "failures_24h": [_failure_json(f) for f in g.failures_24h[:MAX_FAILURES_LISTED]],
    }


def _failure_json(f: Failure) -> dict[str, Any]:
    return {"endpoint_id": f.endpoint_id, "endpoint": f.endpoint, "window": _window_json(f.window),
            "error_type": f.error_type, "message": f.message, "location": f.location, "time": _iso(f.time_ms)}


def _window_json(w: Window | None) -> dict[str, str] | None:
    return None if w is None else {"start": iso(w.start_ms), "end": iso(w.end_ms)}


def _iso(ms: int | None) -> str | None:
    return None if ms is None else iso(ms)


def _seconds(now_ms: int, since_ms: int | None) -> float | None:
    return None if since_ms is None else max(0.0, (now_ms - since_ms) / 1000)


def _opt_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
