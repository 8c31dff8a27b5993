"""``GET /metrics``: the project's monitoring state in the Prometheus text format, for Prometheus to
scrape and Grafana to chart (the metrics: :mod:`modelmon.ui.metrics_catalog`, ``docs/prometheus.md``;
the dashboards: ``dashboards/``).

Each scrape reads the home afresh (:func:`modelmon.ui.metrics_collect.collect`), in a worker thread so
a scrape of a large home never blocks the pages. The UI's access token, when set, guards it like every
other route: Prometheus sends it with ``authorization: {credentials: <token>}``. ``?features=false`` leaves
out the per-feature figures, most of the page of a large home (scrape config ``params: {features: ["false"]}``).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from modelmon.ui.context import UIContext
from modelmon.ui.metrics_collect import collect
from modelmon.ui.metrics_exposition import CONTENT_TYPE

_FLAGS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def routes(context: UIContext) -> list[BaseRoute]:
    """The exporter's routes, mounted at ``/`` by ``create_app``."""

    async def metrics(request: Request) -> Response:
        given = request.query_params.get("features", "true").lower()
        if given not in _FLAGS:
            return PlainTextResponse(f"features={given!r}: expected true or false", status_code=400)
        page = await run_in_threadpool(collect, context, features=_FLAGS[given])
        return Response(page.render(), media_type=CONTENT_TYPE)

    return [Route("/metrics", metrics, methods=["GET"], name="metrics")]
