"""The controller: which closed windows each monitoring application still has to analyse."""

from __future__ import annotations

from modelmon.controller.activity import RequestActivity
from modelmon.controller.controller import Controller, ControllerReport
from modelmon.controller.schedule import PairPlan, PairState, plan_pair, schedule_key
from modelmon.controller.windows import ClosingRule, ceil_to, floor_to, window_starts

__all__ = [
    "ClosingRule",
    "Controller",
    "ControllerReport",
    "PairPlan",
    "PairState",
    "RequestActivity",
    "ceil_to",
    "floor_to",
    "plan_pair",
    "schedule_key",
    "window_starts",
]
