"""``modelmon demo``: the whole pipeline on generated traffic with known drift (see docs/demo.md).

Three endpoints of one breast-cancer classifier: A undrifted, B drifting gradually in some features,
C shifted suddenly half way. Traffic covers several one-minute windows with event times in the past,
so windows close as soon as their rows are stored.
"""

from __future__ import annotations

from modelmon.demo.bundle import DemoApp, DemoBundle, render_demo_bundle
from modelmon.demo.dataset import DemoModel, train_demo_model
from modelmon.demo.report import EndpointSummary, render_text, summarise, to_json
from modelmon.demo.run import DemoOutcome, run_demo
from modelmon.demo.session import DEMO_APPS, DemoConfig, DemoSession, WindowProgress, prepare_home
from modelmon.demo.traffic import Scenario, TrafficGenerator, TrafficPlan, default_scenarios

__all__ = [
    "DEMO_APPS",
    "DemoApp",
    "DemoBundle",
    "DemoConfig",
    "DemoModel",
    "DemoOutcome",
    "DemoSession",
    "EndpointSummary",
    "Scenario",
    "TrafficGenerator",
    "TrafficPlan",
    "WindowProgress",
    "default_scenarios",
    "prepare_home",
    "render_demo_bundle",
    "render_text",
    "run_demo",
    "summarise",
    "to_json",
    "train_demo_model",
]
