"""Choosing the backend from settings: the one place that knows every backend by name."""

from __future__ import annotations

from modelmon.backends.base import Backend
from modelmon.core.config import Settings


def make_backend(settings: Settings) -> Backend:
    """The backend ``settings`` names, connected and ready."""
    match settings.backend:
        case "local":
            from modelmon.backends.local import open_local_backend

            return open_local_backend(settings.home)
        case "v3io":
            from modelmon.backends.v3io import open_v3io_backend

            return open_v3io_backend(settings)
        case other:  # Settings already validates; kept for type checkers
            raise ValueError(f"unknown backend {other!r}")
