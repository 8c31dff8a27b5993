"""Reading one project of a home into the ``/metrics`` page (:mod:`modelmon.ui.metrics_catalog` names
every metric).

One pass over each KV table per scrape (endpoints, latest results, latest metrics, app failures, the app
registry), one TSDB read of the last minutes of predictions, and the service's state file: nothing
grows with the history's length, only with the number of endpoints and results.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from modelmon import queries
from modelmon.apps.registry import AppRegistry
from modelmon.backends.base import Backend
from modelmon.core.errors import NotFound
from modelmon.core.paths import ProjectPaths
from modelmon.core.timeutil import now_ms as wall_clock_ms
from modelmon.endpoints.record import ModelEndpoint
from modelmon.endpoints.store import EndpointStore
from modelmon.service.state import read_state
from modelmon.service.status import FunctionStatus
from modelmon.service.status import _functions as function_statuses
from modelmon.ui import metrics_catalog as m
from modelmon.ui.metrics_exposition import Page

DAY_MS = 86_400_000
_MINUTE_MS = 60_000
_THRESHOLD_LEVELS = ("potential", "detected")


def collect(backend: Backend, project: str, home: str | Path | None, *,
            clock: Callable[[], int] = wall_clock_ms) -> Page:
    """The page for ``project``: every family of the catalogue, with samples where the home has data.

    ``home``: the local home whose service state to report (``None``: no service metrics).
    """
    started = time.perf_counter()
    now = clock()
    page = Page()
    for family in m.FAMILIES:  # every family is listed, also without samples
        page.lines(family)
    endpoints = {e.endpoint_id: e for e in EndpointStore(backend.kv, ProjectPaths(project)).scan(brief=True)}
    labels = {eid: (project, eid, e.name, e.model) for eid, e in endpoints.items()}
    _endpoints(page, project, endpoints, labels, _recent_latency_max(backend, project, now))
    known = _known(project, labels)
    _results(page, backend, project, known)
    _metrics(page, backend, project, known)
    _apps(page, backend, project, now)
    _functions(page, backend, project, home, now)
    page.add(m.READ_SECONDS, (project,), round(time.perf_counter() - started, 6))
    return page


def _known(project: str, labels: dict[str, tuple[str, str, str, str]]) -> Callable[[str], tuple[str, ...]]:
    """The endpoint labels of an id; a result of an endpoint deleted since has an empty name and model."""
    def get(endpoint_id: str) -> tuple[str, ...]:
        return labels.get(endpoint_id) or (project, endpoint_id, "", "")
    return get


def _endpoints(page: Page, project: str, endpoints: Mapping[str, ModelEndpoint],
               labels: Mapping[str, tuple[str, ...]], latency_max_us: Mapping[str, float]) -> None:
    page.add(m.ENDPOINTS, (project,), len(endpoints))
    for eid, e in endpoints.items():
        ls = labels[eid]
        page.add(m.ENDPOINT_INFO, (*ls, e.model_version, e.function_uri), 1)
        page.add(m.REQUESTS, ls, int(e.request_count))
        page.add(m.ERRORS, ls, int(e.error_count))
        page.add(m.LATENCY_SUM, ls, float(e.latency_sum_us) / 1e6)
        if eid in latency_max_us:
            page.add(m.LATENCY_MAX, ls, latency_max_us[eid] / 1e6)
        if e.last_request_ms is not None:
            page.add(m.LAST_REQUEST, ls, e.last_request_ms / 1000)
        page.add(m.DRIFT_STATUS, ls, int(e.drift_status))


def _recent_latency_max(backend: Backend, project: str, now: int) -> dict[str, float]:
    """Highest latency (us) per endpoint over the last minutes of the predictions TSDB (one read)."""
    start = now - m.RECENT_MINUTES * _MINUTE_MS
    try:
        rows = backend.tsdb.read(ProjectPaths(project).predictions_tsdb, start, now + 1,
                                 columns=["latency_max_us"])
    except NotFound:  # no traffic was ever stored
        return {}
    if rows.empty:
        return {}
    return {str(k): float(v) for k, v in rows.groupby("endpoint_id")["latency_max_us"].max().items()}


def _results(page: Page, backend: Backend, project: str, known: Callable[[str], tuple[str, ...]]) -> None:
    df = queries.latest_results(backend, project)
    columns = ("endpoint_id", "app_name", "result_name", "kind_name", "value", "status", "end_ms", "extra_data")
    for eid, app, name, kind, value, status, end_ms, extra in zip(*(df[c].tolist() for c in columns), strict=True):
        ls = (*known(eid), app, name, kind)
        page.add(m.RESULT_VALUE, ls, float(value))
        page.add(m.RESULT_STATUS, ls, int(status))
        page.add(m.RESULT_WINDOW_END, ls, int(end_ms) / 1000)
        for level, threshold in _thresholds(extra):
            page.add(m.RESULT_THRESHOLD, (*ls, level), threshold)
        for feature, measure, figure in _feature_values(extra):
            page.add(m.FEATURE_VALUE, (*known(eid), app, name, feature, measure), figure)


def _thresholds(extra: Mapping[str, Any]) -> Iterator[tuple[str, float]]:
    """``extra_data["thresholds"]`` as the apps write it (``Thresholds.to_dict()``), when it is one."""
    given = extra.get("thresholds")
    if isinstance(given, Mapping):
        for level in _THRESHOLD_LEVELS:
            if _is_number(given.get(level)):
                yield level, float(given[level])


def _feature_values(extra: Mapping[str, Any]) -> Iterator[tuple[str, str, float]]:
    """``extra_data["features"]``: ``{feature: {measure: number}}`` (drift distances per feature) or
    ``{feature: number}`` (measure ``value``); anything else in it is skipped."""
    features = extra.get("features")
    if not isinstance(features, Mapping):
        return
    for feature, figures in features.items():
        if _is_number(figures):
            yield str(feature), "value", float(figures)
        elif isinstance(figures, Mapping):
            for measure, figure in figures.items():
                if _is_number(figure):
                    yield str(feature), str(measure), float(figure)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _metrics(page: Page, backend: Backend, project: str, known: Callable[[str], tuple[str, ...]]) -> None:
    df = queries.latest_metrics(backend, project)
    columns = ("endpoint_id", "app_name", "metric_name", "value")
    for eid, app, name, value in zip(*(df[c].tolist() for c in columns), strict=True):
        page.add(m.APP_METRIC, (*known(eid), app, name), float(value))


def _apps(page: Page, backend: Backend, project: str, now: int) -> None:
    registered = {app.name: app.enabled for app in AppRegistry(backend.kv, ProjectPaths(project)).list()}
    for name, enabled in sorted(registered.items()):
        page.add(m.APP_ENABLED, (project, name), int(enabled))
    failures = queries.app_failures(backend, project)
    apps = sorted({*registered, *failures["app_name"]})
    recent = failures[failures["time_ms"].fillna(0) >= now - DAY_MS] if len(failures) else failures
    failed, failed_24h = failures["app_name"].value_counts(), recent["app_name"].value_counts()
    for name in apps:
        page.add(m.APP_FAILED, (project, name), int(failed.get(name, 0)))
        page.add(m.APP_FAILED_24H, (project, name), int(failed_24h.get(name, 0)))


def _functions(page: Page, backend: Backend, project: str, home: str | Path | None, now: int) -> None:
    state = read_state(home) if home is not None else None
    page.add(m.SERVICE_UP, (project,), int(state is not None))
    if state is None:
        return
    projects = state.get("projects")
    project_state = projects.get(project, {}) if isinstance(projects, Mapping) else {}
    fn: FunctionStatus  # the per-function half of `modelmon status` (private in status.py)
    for fn in function_statuses(backend, project_state, now):
        ls = (project, fn.name, fn.role)
        page.add(m.FUNCTION_UP, ls, int(fn.state == "running"))
        page.add(m.FUNCTION_RESTARTS, ls, fn.restarts)
        if fn.lag is not None:
            page.add(m.FUNCTION_LAG, ls, fn.lag)
