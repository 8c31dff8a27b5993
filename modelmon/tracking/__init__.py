"""Serving-side tracking: report each request of a Nuclio model server to the project's tracking stream.

- :class:`ModelServer` with :meth:`~ModelServer.set_tracking` for MLRun-style model servers;
- :func:`tracked` for plain ``handler(context, event)`` functions;
- :class:`TrackingClient`, the bounded, batching, non-blocking pusher both use.
"""

from __future__ import annotations

from modelmon.tracking.client import TrackedModel, TrackingClient
from modelmon.tracking.handler import tracked
from modelmon.tracking.server import ModelServer

__all__ = ["ModelServer", "TrackedModel", "TrackingClient", "tracked"]
