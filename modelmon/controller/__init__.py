"""The controller: which closed windows each monitoring application still has to analyse."""

from __future__ import annotations

from modelmon.controller.controller import Controller

__all__ = ["Controller"]
