"""The ASGI app of ``modelmon ui``: the JSON API at ``/api``, the pages and ``/metrics`` at ``/``, the static
files at ``/static``, all behind the access token when one is set."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from modelmon.ui import api, pages, prometheus
from modelmon.ui.auth import TokenMiddleware
from modelmon.ui.context import UIContext

STATIC_DIR = Path(__file__).parent / "static"


def create_app(context: UIContext) -> Starlette:
    """The app serving ``context.project`` of ``context.backend``."""
    routes = [
        Mount("/api", routes=api.routes(context)),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR, check_dir=False), name="static"),
        *prometheus.routes(context),
        *pages.routes(context),
    ]
    middleware = [Middleware(TokenMiddleware, token=context.token)] if context.token else []
    app = Starlette(routes=routes, middleware=middleware)
    app.state.context = context
    return app
