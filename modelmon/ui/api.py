"""The JSON API of ``modelmon ui`` under ``/api/`` (documented in docs/ui.md)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from modelmon.ui.context import UIContext


def routes(context: UIContext) -> list[BaseRoute]:
    """The API's routes, mounted at ``/api`` by ``create_app``."""
    return []
