"""The controller function: dispatches closed windows to monitoring apps (see ``modelmon.controller``)."""

from __future__ import annotations
