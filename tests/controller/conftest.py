from __future__ import annotations

from controller_fixtures import backend, clock, paths, registry

__all__ = ["backend", "clock", "paths", "registry"]
