"""The local service: one background supervisor per modelmon home that keeps every project's functions running.

The SDK's local target and ``modelmon up`` write each function's desired config under
``<home>/projects/<project>/functions/<function>/`` (:mod:`~modelmon.service.desired`) and start the
service if none runs; the service starts, replaces and stops functions to match, restarts crashed
ones with backoff, writes their output to ``<home>/logs/<project>/<function>.log`` and what it runs to
``<home>/service/state.json`` (:mod:`~modelmon.service.state`). It outlives the process that
started it; :func:`stop_service` (``modelmon down``) stops it and every function.

::

    from modelmon.service import read_state, start_service, stop_service

    info = start_service(".modelmon")      # ServiceInfo(pid=..., already_running=False, ...)
    read_state(".modelmon")["projects"]    # per project and function: state, pid, restarts, last_error
    stop_service(".modelmon")
"""

from __future__ import annotations

from modelmon.service.control import ServiceInfo, start_service, stop_service, wait_for_removal, wait_for_versions
from modelmon.service.desired import remove_function, write_function
from modelmon.service.layout import HomeLayout
from modelmon.service.state import read_state

__all__ = [
    "HomeLayout",
    "ServiceInfo",
    "read_state",
    "remove_function",
    "start_service",
    "stop_service",
    "wait_for_removal",
    "wait_for_versions",
    "write_function",
]
