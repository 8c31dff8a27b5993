"""A Nuclio dashboard test server: nuclio-jupyter's deploy code talks to it over HTTP on 127.0.0.1."""

from __future__ import annotations

from nuclio_dashboard.server import NuclioDashboard

__all__ = ["NuclioDashboard"]
