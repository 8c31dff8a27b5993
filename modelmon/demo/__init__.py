"""``modelmon demo``: the whole pipeline on generated traffic with known drift (see docs/demo.md).

Three endpoints of one breast-cancer classifier: A undrifted, B drifting gradually in some features,
C shifted suddenly half way. Traffic covers several one-minute windows with event times in the past,
so windows close as soon as their rows are stored.
"""

from __future__ import annotations

from modelmon.demo.bundle import render_demo_bundle
from modelmon.demo.run import run_demo
from modelmon.demo.session import DemoConfig

__all__ = ["DemoConfig", "render_demo_bundle", "run_demo"]
