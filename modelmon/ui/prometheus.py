"""Prometheus exposition of a modelmon home: ``GET /metrics`` (filled in shortly)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

if TYPE_CHECKING:
    from modelmon.ui.context import UIContext


def routes(context: UIContext) -> list[BaseRoute]:
    """The exporter's routes, mounted at ``/`` by ``create_app``."""
    return []
