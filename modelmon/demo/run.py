"""One demo run from start to report."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from modelmon.demo.commands import UI_URL, alerts_command, browser_commands, inspect_commands
from modelmon.demo.report import EndpointSummary, alert_dict, render_alerts, render_text, summarise, to_json
from modelmon.demo.session import DemoConfig, DemoSession, Progress


@dataclasses.dataclass(frozen=True)
class DemoOutcome:
    """What the demo found, where it left its data, and the commands that read that data."""

    summaries: list[EndpointSummary]
    elapsed_s: float
    home: Path
    project: str
    log_file: Path
    alerts: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # the active alerts' items

    @property
    def commands(self) -> list[str]:
        """``modelmon`` commands over the demo's home and project (the last endpoint's history)."""
        return [*inspect_commands(self.home, self.project, self.summaries[-1].name),
                alerts_command(self.home, self.project)]

    @property
    def browser_commands(self) -> list[str]:
        """``modelmon ui`` over the demo's data and an offline ``report`` of the last endpoint."""
        return browser_commands(self.home, self.project, self.summaries[-1].name)

    def to_json(self) -> dict[str, Any]:
        return to_json(self.summaries, self.elapsed_s) | {
            "alerts": [alert_dict(a) for a in self.alerts],
            "home": str(self.home.resolve()), "project": self.project, "log_file": str(self.log_file),
            "commands": self.commands, "browser_commands": self.browser_commands}

    def to_text(self) -> str:
        where = [f"data: {self.home.resolve()} (project {self.project}); function logs: {self.log_file}",
                 "inspect it (from this directory):", *(f"  {c}" for c in self.commands),
                 f"see it in a browser ({UI_URL} once 'ui' runs; the report is one offline file):",
                 *(f"  {c}" for c in self.browser_commands)]
        return "\n\n".join([render_text(self.summaries, self.elapsed_s), render_alerts(self.alerts), "\n".join(where)])


def run_demo(config: DemoConfig, progress: Progress | None = None, timeout_s: float = 90.0) -> DemoOutcome:
    """Start the demo, send its traffic, wait until every closed window has results, summarise."""
    with DemoSession(config, progress) as demo:
        assert demo.backend is not None and demo.generator is not None
        demo.send_traffic()
        demo.wait_for_windows(timeout_s)
        alerts = demo.wait_for_alerts()
        summaries = summarise(demo.backend, config.project, demo.scenarios, demo.endpoint_ids,
                              demo.generator.plan.first_start_ms)
        return DemoOutcome(summaries, demo.elapsed_s, config.home, config.project, demo.log_file, alerts)
