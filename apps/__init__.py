"""Deployable monitoring-app functions: one folder per built-in app, all sharing ``apps.handler``."""

from __future__ import annotations
