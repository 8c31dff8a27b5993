"""The JSON API of ``modelmon ui`` under ``/api/`` (every route, parameter and field: docs/ui.md).

Errors are JSON ``{"error": message}``: 404 for an unknown endpoint, window or route, 400 for a bad
parameter (``"parameter"`` names it). Handlers are plain functions: Starlette runs them in its thread pool,
so a slow read never blocks the server's event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from modelmon.alerts.activations import STATES
from modelmon.core.errors import NotFound
from modelmon.core.results import ResultStatusApp
from modelmon.core.timeutil import iso
from modelmon.endpoints.store import DRIFT_STATUS_END, EndpointStore
from modelmon.queries import parse_since
from modelmon.ui.alerts import alerts_page
from modelmon.ui.apps_status import apps_status
from modelmon.ui.context import UIContext
from modelmon.ui.endpoint import DEFAULT_MEASURE, DEFAULT_RANGE_MS, endpoint_detail, find_endpoint
from modelmon.ui.histograms import feature_histograms, window_end
from modelmon.ui.overview import MAX_PER_PAGE, SORTABLE, OverviewQuery, overview


class JSONResponse(Response):
    """JSON by orjson: ten times faster than the json module on the endpoint API's 50,000 points, and a
    value that is not a finite number becomes ``null``."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)


class BadParameter(ValueError):
    """A query parameter the API cannot use; answered with 400 naming it."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter


def routes(context: UIContext) -> list[BaseRoute]:
    """The API's routes, mounted at ``/api`` by ``create_app``."""

    def handler(fn: Callable[[UIContext, Request], dict[str, Any]]) -> Callable[[Request], Response]:
        def endpoint(request: Request) -> Response:
            try:
                return JSONResponse(fn(context, request))
            except BadParameter as exc:
                return JSONResponse({"error": str(exc), "parameter": exc.parameter}, status_code=400)
            except NotFound as exc:
                return JSONResponse({"error": str(exc)}, status_code=404)
            except ValueError as exc:  # an ambiguous endpoint name or prefix, an unknown feature
                return JSONResponse({"error": str(exc)}, status_code=400)
        return endpoint

    return [
        Route("/overview", handler(_overview), methods=["GET"]),
        Route("/endpoints/{ref}", handler(_endpoint), methods=["GET"]),
        Route("/endpoints/{ref}/histograms", handler(_histograms), methods=["GET"]),
        Route("/apps", handler(lambda c, _: apps_status(c)), methods=["GET"]),
        Route("/alerts", handler(_alerts), methods=["GET"]),
        Route("/{path:path}", _unknown),
    ]


def _unknown(request: Request) -> Response:
    return JSONResponse({"error": f"no API route {request.url.path}; see docs/ui.md"}, status_code=404)


def _overview(context: UIContext, request: Request) -> dict[str, Any]:
    params = request.query_params
    sort = params.get("sort") or "drift_status"
    if sort not in SORTABLE:
        raise BadParameter("sort", f"{sort!r} is not one of {', '.join(SORTABLE)}")
    order = params.get("order") or ("desc" if sort in ("drift_status", "requests_per_min", "error_rate",
                                                         "latency_p99_us") else "asc")
    if order not in ("asc", "desc"):
        raise BadParameter("order", f"{order!r}: expected asc or desc")
    query = OverviewQuery(q=params.get("q") or "", statuses=_statuses(params.get("status") or ""), sort=sort,
                          descending=order == "desc", page=_int(params, "page", 1, 1),
                          per_page=_int(params, "per_page", 50, 1, MAX_PER_PAGE))
    return overview(context, query)


def _endpoint(context: UIContext, request: Request) -> dict[str, Any]:
    endpoint = find_endpoint(context, request.path_params["ref"])
    params, now = request.query_params, context.now_ms()
    until = _time(params, "until", now) + 1 if params.get("until") else None
    since = _time(params, "since", now) if params.get("since") else None
    anchor = "until" if until is not None else "since" if since is not None else "now"
    if until is None:
        until = now + 1
        if since is None:  # the last 7 days; or the 7 days up to the endpoint's latest data when that is older
            item = EndpointStore(context.backend.kv, context.project).item(endpoint.endpoint_id) or {}
            latest = max([v for v in (item.get(DRIFT_STATUS_END), endpoint.last_request_ms) if isinstance(v, int)],
                         default=now)
            if latest < now - DEFAULT_RANGE_MS:
                until, anchor = latest + 1, "latest data"
    if since is None:
        since = until - DEFAULT_RANGE_MS
    if since >= until:
        raise BadParameter("since", f"{iso(since)} is not before until {iso(until - 1)}")
    measure = params.get("measure") or DEFAULT_MEASURE
    detail = endpoint_detail(context, endpoint, since, until, measure)
    detail["range"]["anchor"] = anchor
    return detail


def _histograms(context: UIContext, request: Request) -> dict[str, Any]:
    endpoint = find_endpoint(context, request.path_params["ref"])
    params = request.query_params
    if not params.get("start_ms"):
        raise BadParameter("start_ms", "required: the start of an analysed window, in epoch ms")
    start = _int(params, "start_ms", 0, 0)
    end_ms = _int(params, "end_ms", 0, 0) if params.get("end_ms") else None  # exact whatever the period
    if end_ms is not None and end_ms <= start:
        raise BadParameter("end_ms", f"{end_ms} is not after start_ms {start}")
    feature = params.get("feature") or None
    end = window_end(context, endpoint.endpoint_id, start, end_ms)
    try:
        return feature_histograms(context, endpoint, start, end, feature)
    except ValueError as exc:
        raise BadParameter("feature", str(exc)) from None


def _alerts(context: UIContext, request: Request) -> dict[str, Any]:
    params, now = request.query_params, context.now_ms()
    since = _time(params, "since", now) if params.get("since") else None
    state = params.get("state") or None
    if state is not None and state not in STATES:
        raise BadParameter("state", f"{state!r} is not one of {', '.join(STATES)}")
    endpoint_id = None
    if params.get("endpoint"):
        try:
            endpoint_id = find_endpoint(context, params["endpoint"]).endpoint_id
        except NotFound:  # a deleted endpoint's activations stay: its id still selects them
            endpoint_id = params["endpoint"]
    return alerts_page(context, state=state, endpoint_id=endpoint_id, since_ms=since)


def _int(params: Any, name: str, default: int, minimum: int, maximum: int | None = None) -> int:
    text = params.get(name)
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise BadParameter(name, f"{text!r} is not a whole number") from None
    if value < minimum or (maximum is not None and value > maximum):
        raise BadParameter(name, f"{value} is out of range [{minimum}, {maximum if maximum is not None else '…'}]")
    return value


def _time(params: Any, name: str, now: int) -> int:
    try:
        return parse_since(params[name], now, what=name)
    except ValueError as exc:
        raise BadParameter(name, str(exc).removeprefix(f"{name} ")) from None


def _statuses(text: str) -> tuple[int, ...]:
    """``detected,potential_detection`` or ``2,1`` as status numbers."""
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        if part.lstrip("-").isdigit() and int(part) in {int(s) for s in ResultStatusApp}:
            out.append(int(part))
        elif part in ResultStatusApp.__members__:
            out.append(int(ResultStatusApp[part]))
        else:
            raise BadParameter("status", f"{part!r} is not one of {', '.join(ResultStatusApp.__members__)}")
    return tuple(out)
