"""Answers with its pid and environment; ``/crash`` ends the process abruptly."""

from __future__ import annotations

import os


def handler(context, event):
    if event.path == "/crash":
        os._exit(3)
    return {
        "pid": os.getpid(),
        "greeting": os.environ.get("GREETING"),
        "project": os.environ.get("MODELMON_PROJECT"),
        "home": os.environ.get("MODELMON_HOME"),
    }
