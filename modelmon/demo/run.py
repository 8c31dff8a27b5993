"""One demo run from start to report."""

from __future__ import annotations

import dataclasses
from typing import Any

from modelmon.demo.report import EndpointSummary, render_text, summarise, to_json
from modelmon.demo.session import DemoConfig, DemoSession, Progress


@dataclasses.dataclass(frozen=True)
class DemoOutcome:
    summaries: list[EndpointSummary]
    elapsed_s: float

    def to_json(self) -> dict[str, Any]:
        return to_json(self.summaries, self.elapsed_s)

    def to_text(self) -> str:
        return render_text(self.summaries, self.elapsed_s)


def run_demo(config: DemoConfig, progress: Progress | None = None, timeout_s: float = 90.0) -> DemoOutcome:
    """Start the demo, send its traffic, wait until every closed window has results, summarise."""
    with DemoSession(config, progress) as demo:
        assert demo.backend is not None and demo.generator is not None
        demo.send_traffic()
        demo.wait_for_windows(timeout_s)
        summaries = summarise(demo.backend, config.project, demo.scenarios, demo.endpoint_ids,
                              demo.generator.plan.first_start_ms)
        return DemoOutcome(summaries, demo.elapsed_s)
