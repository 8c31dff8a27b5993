"""Choosing the backend from settings: the one place that knows every backend by name."""

from __future__ import annotations

from modelmon.backends.base import Backend
from modelmon.core.config import Settings
from modelmon.core.errors import ConfigError


def make_backend(settings: Settings) -> Backend:
    """The backend ``settings`` names, connected and ready."""
    match settings.backend:
        case "local":
            from modelmon.backends.local import open_local_backend

            return open_local_backend(settings.home)
        case "v3io":
            from modelmon.backends.v3io import open_v3io_backend

            return open_v3io_backend(settings)
        case "postgres":
            try:
                from modelmon.backends.postgres import open_postgres_backend
            except ImportError as exc:  # psycopg is an optional extra
                raise ConfigError(f"backend postgres needs psycopg: pip install 'modelmon[postgres]' ({exc})") from exc
            assert settings.postgres_dsn is not None  # Settings requires it for this backend
            return open_postgres_backend(settings.postgres_dsn, settings.home)
        case other:  # Settings already validates; kept for type checkers
            raise ValueError(f"unknown backend {other!r}")
