"""Reading one project of a home into the ``/metrics`` page (:mod:`modelmon.ui.metrics_catalog` names
every metric).

One pass over each KV table per scrape (endpoints, latest results, latest metrics, app failures, the app
registry), one TSDB read of the last minutes of predictions, and the service's state file: nothing
grows with the history's length, only with the number of endpoints and results.

The latest results and metrics are read from their KV items directly (layouts: CONTRIBUTING.md, "Stored
records") rather than through ``queries.latest_results``, which builds a DataFrame with status and kind
names and decodes every ``extra_data``: for 10,000 endpoints x 12 results that was 3.4 of a 5 s scrape.
Here ``extra_data`` is decoded only when it can hold thresholds or per-feature figures.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping
from typing import Any

from modelmon import queries
from modelmon.backends.base import Backend, scan_all
from modelmon.core.errors import NotFound
from modelmon.core.paths import ProjectPaths
from modelmon.core.results import ResultKindApp
from modelmon.endpoints.record import ModelEndpoint
from modelmon.endpoints.store import EndpointStore
from modelmon.service.state import read_state
from modelmon.service.status import FunctionStatus, function_statuses
from modelmon.ui import metrics_catalog as m
from modelmon.ui.context import UIContext
from modelmon.ui.data import decoded
from modelmon.ui.metrics_exposition import Page, escape_label, label_text
from modelmon.ui.thresholds import EXTRA_KEYS, result_thresholds

DAY_MS = 86_400_000
_MINUTE_MS = 60_000
_KINDS = {int(kind): kind.name for kind in ResultKindApp}
#: Substrings of an extra_data text that may hold what the page shows (else it is not decoded).
_EXTRA_MARKERS = tuple(f'"{key}"' for key in (*EXTRA_KEYS, "features"))
# the labels each family adds to an endpoint's (metrics_catalog), written after them in this order
_INFO = m.ENDPOINT_INFO.labels[len(m.ENDPOINT):]
_RESULT = ("app", "result")
_FEATURE = m.FEATURE_VALUE.labels[len(m.ENDPOINT) + len(_RESULT):]
_METRIC = m.APP_METRIC.labels[len(m.ENDPOINT):]


def collect(context: UIContext, *, features: bool = True) -> Page:
    """The page of ``context.project``: every family of the catalogue, with samples where the home has data.

    ``features=False`` leaves out ``modelmon_result_feature_value``: per feature, it is most of the page of
    a large home (10,000 endpoints with 8 features: 320,000 of 530,000 series).
    """
    started = time.perf_counter()
    backend, project, now = context.backend, context.project, context.now_ms()
    page = Page()
    for family in m.FAMILIES:  # every family is listed, also without samples
        page.lines(family)
    endpoints = {e.endpoint_id: e for e in EndpointStore(backend.kv, ProjectPaths(project)).scan(brief=True)}
    labels = _EndpointLabels(project, endpoints)
    _endpoints(page, project, endpoints, labels, _recent_latency_max(backend, project, now))
    _results(page, context, labels, features)
    _metrics(page, backend, project, labels)
    _apps(page, context, now)
    _functions(page, context, now)
    page.add(m.READ_SECONDS, (project,), round(time.perf_counter() - started, 6))
    return page


class _EndpointLabels:
    """The written labels (``project="…",endpoint_id="…",endpoint="…",model="…"``) of each endpoint, once
    per scrape; an endpoint deleted since its results were written has an empty name and model."""

    def __init__(self, project: str, endpoints: Mapping[str, ModelEndpoint]) -> None:
        self._project = project
        self._text = {eid: label_text(m.ENDPOINT, (project, eid, e.name, e.model)) for eid, e in endpoints.items()}

    def __call__(self, endpoint_id: str) -> str:
        text = self._text.get(endpoint_id)
        if text is None:
            text = self._text[endpoint_id] = label_text(m.ENDPOINT, (self._project, endpoint_id, "", ""))
        return text


def _endpoints(page: Page, project: str, endpoints: Mapping[str, ModelEndpoint], labels: _EndpointLabels,
               latency_max_us: Mapping[str, float]) -> None:
    page.add(m.ENDPOINTS, (project,), len(endpoints))
    for eid, e in endpoints.items():
        ls = labels(eid)
        page.add_text(m.ENDPOINT_INFO, f"{ls},{label_text(_INFO, (e.model_version, e.function_uri))}", 1)
        page.add_text(m.REQUESTS, ls, int(e.request_count))
        page.add_text(m.ERRORS, ls, int(e.error_count))
        page.add_text(m.LATENCY_SUM, ls, float(e.latency_sum_us) / 1e6)
        if eid in latency_max_us:
            page.add_text(m.LATENCY_MAX, ls, latency_max_us[eid] / 1e6)
        if e.last_request_ms is not None:
            page.add_text(m.LAST_REQUEST, ls, e.last_request_ms / 1000)
        page.add_text(m.DRIFT_STATUS, ls, int(e.drift_status))


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


def _results(page: Page, context: UIContext, labels: _EndpointLabels, features: bool) -> None:
    """The latest result items (KV ``app_results_table``)."""
    for _, item in scan_all(context.backend.kv, context.paths.app_results_table):
        eid, app, name = str(item.get("endpoint_id")), str(item.get("app_name")), str(item.get("result_name"))
        value: Any = item.get("value")
        status, kind, end_ms = item.get("status"), item.get("kind"), item.get("end_ms")
        if not (_is_number(value) and isinstance(status, int) and isinstance(end_ms, int)):
            continue  # damaged by hand: the rest of the page still serves
        result = f"{labels(eid)},{label_text(_RESULT, (app, name))}"
        ls = f'{result},kind="{escape_label(_KINDS.get(kind, str(kind)) if isinstance(kind, int) else str(kind))}"'
        page.add_text(m.RESULT_VALUE, ls, value)
        page.add_text(m.RESULT_STATUS, ls, status)
        page.add_text(m.RESULT_WINDOW_END, ls, end_ms / 1000)
        text = item.get("extra_data")
        extra = decoded(text) if isinstance(text, str) and any(k in text for k in _EXTRA_MARKERS) else {}
        limits, _ = result_thresholds(context, app, name, extra)
        for level, threshold in (limits or {}).items():
            page.add_text(m.RESULT_THRESHOLD, f'{ls},level="{level}"', threshold)
        for feature, measure, figure in _feature_values(extra) if features else ():
            page.add_text(m.FEATURE_VALUE, f"{result},{label_text(_FEATURE, (feature, measure))}", figure)


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


def _metrics(page: Page, backend: Backend, project: str, labels: _EndpointLabels) -> None:
    """The latest metrics items (KV ``app_metrics_table``: a JSON ``{name: value}`` per endpoint and app);
    a home written before that table: ``queries.latest_metrics`` reads them from the history."""
    table = ProjectPaths(project).app_metrics_table
    if not backend.kv.scan(table, limit=1)[0]:
        df = queries.latest_metrics(backend, project)
        items: Iterator[tuple[Any, Any, dict[str, Any]]] = (
            (eid, app, {name: value}) for eid, app, name, value in
            zip(*(df[c].tolist() for c in ("endpoint_id", "app_name", "metric_name", "value")), strict=True))
    else:
        items = ((item.get("endpoint_id"), item.get("app_name"), decoded(item.get("metrics")))
                 for _, item in scan_all(backend.kv, table))
    for eid, app, metrics in items:
        for name, value in metrics.items():
            if _is_number(value):
                page.add_text(m.APP_METRIC, f"{labels(str(eid))},{label_text(_METRIC, (app, name))}", value)


def _apps(page: Page, context: UIContext, now: int) -> None:
    project = context.project
    registered = {app.name: app.enabled for app in context.apps()}
    for name, enabled in sorted(registered.items()):
        page.add(m.APP_ENABLED, (project, name), int(enabled))
    failures = queries.app_failures(context.backend, project)
    apps = sorted({*registered, *failures["app_name"]})
    recent = failures[failures["time_ms"].fillna(0) >= now - DAY_MS] if len(failures) else failures
    failed, failed_24h = failures["app_name"].value_counts(), recent["app_name"].value_counts()
    for name in apps:
        page.add(m.APP_FAILED, (project, name), int(failed.get(name, 0)))
        page.add(m.APP_FAILED_24H, (project, name), int(failed_24h.get(name, 0)))


def _functions(page: Page, context: UIContext, now: int) -> None:
    """The local service's functions (its state file); a home on V3IO has no local service."""
    project = context.project
    state = read_state(context.settings.home) if context.settings.backend == "local" else None
    page.add(m.SERVICE_UP, (project,), int(state is not None))
    if state is None:
        return
    projects = state.get("projects")
    project_state = projects.get(project, {}) if isinstance(projects, Mapping) else {}
    fn: FunctionStatus  # the per-function half of `modelmon status`
    for fn in function_statuses(context.backend, project_state, now):
        ls = (project, fn.name, fn.role)
        page.add(m.FUNCTION_UP, ls, int(fn.state == "running"))
        page.add(m.FUNCTION_RESTARTS, ls, fn.restarts)
        if fn.lag is not None:
            page.add(m.FUNCTION_LAG, ls, fn.lag)
