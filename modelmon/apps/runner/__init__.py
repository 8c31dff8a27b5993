"""The app function runtime: load an application, build each window's context, emit writer events."""

from __future__ import annotations

from modelmon.apps.runner.loader import load_app
from modelmon.apps.runner.runner import AppRunner
from modelmon.apps.runner.window_context import build_context, window_error_count

__all__ = ["AppRunner", "build_context", "load_app", "window_error_count"]
