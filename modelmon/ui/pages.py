"""The UI's HTML pages: server-rendered shells whose scripts fetch the JSON API."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

if TYPE_CHECKING:
    from modelmon.ui.context import UIContext


def routes(context: UIContext) -> list[BaseRoute]:
    """The page routes mounted at ``/`` by ``create_app``."""
    return []
