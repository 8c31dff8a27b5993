"""The UI's HTML pages: server-rendered shells (layout, navigation, the page's settings) whose scripts fetch
the JSON API and draw the tables and charts (``modelmon/ui/static/``). The offline report renders the same
templates with the scripts inlined (:mod:`modelmon.ui.report`)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Route

from modelmon.core.errors import NotFound
from modelmon.queries import resolve_endpoint

if TYPE_CHECKING:
    from modelmon.ui.context import UIContext

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
#: Every page loads the shared helpers and the chart module, then its own scripts (all under ``/static``).
CHART_SCRIPTS = ("common.js", "chart-core.js", "chart-line.js", "chart-grid.js")
PAGE_SCRIPTS = {
    "endpoint": ("alerts-table.js", "endpoint-drift.js", "endpoint-estimation.js", "endpoint.js"),
    "alerts": ("alerts-table.js", "alerts.js"),
}


@functools.cache
def environment() -> jinja2.Environment:
    """The templates, HTML-escaped by default."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True,
                              undefined=jinja2.StrictUndefined)


def render_page(page: str, title: str, project: str, config: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """A page shell: the layout, ``config`` as JSON for the page's script, and the scripts."""
    html = environment().get_template("page.html").render(
        page=page, title=title, project=project, inline=None, config={"page": page, "project": project} | config,
        scripts=[*CHART_SCRIPTS, *PAGE_SCRIPTS.get(page, (f"{page}.js",))])
    return HTMLResponse(html, status_code=status_code)


def routes(context: UIContext) -> list[BaseRoute]:
    """The page routes mounted at ``/`` by ``create_app``."""
    project = context.project

    def overview(request: Request) -> HTMLResponse:
        return render_page("overview", "Endpoints", project, {})

    def endpoint(request: Request) -> HTMLResponse:
        ref = request.path_params["ref"]
        try:
            endpoint_id = resolve_endpoint(context.backend, project, ref)
        except (NotFound, ValueError) as exc:  # no such endpoint, or a name/prefix several share
            return render_page("missing", "Not found", project, {"error": str(exc)}, status_code=404)
        return render_page("endpoint", ref, project, {"ref": ref, "endpoint_id": endpoint_id})

    def apps(request: Request) -> HTMLResponse:
        return render_page("apps", "Apps", project, {})

    def alerts(request: Request) -> HTMLResponse:
        return render_page("alerts", "Alerts", project, {})

    return [
        Route("/", overview, name="page_overview"),
        Route("/endpoints/{ref:path}", endpoint, name="page_endpoint"),
        Route("/apps", apps, name="page_apps"),
        Route("/alerts", alerts, name="page_alerts"),
    ]
