"""The app function runtime: load an application, build each window's context, emit writer events."""

from __future__ import annotations

from modelmon.apps.runner.runner import AppRunner

__all__ = ["AppRunner"]
