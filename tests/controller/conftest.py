from __future__ import annotations

from controller_fixtures import clock, paths, registry

__all__ = ["clock", "paths", "registry"]
