"""What the demo found, per endpoint: as a JSON-ready dict and as text tables."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from modelmon.apps.builtin.histogram_drift import DRIFTED_SHARE
from modelmon.backends import Backend
from modelmon.core.results import ResultStatusApp
from modelmon.core.timeutil import from_ms
from modelmon.demo.traffic import Scenario
from modelmon.queries import app_failures, latest_results, result_history, status_name

DRIFT_APP = "histogram-data-drift"


@dataclasses.dataclass(frozen=True)
class EndpointSummary:
    """One endpoint's outcome: windows with results, result rows, worst status, drifted features."""

    key: str
    endpoint_id: str
    name: str
    scenario: str
    windows: int
    results: int
    failures: int
    max_status: str
    statuses: dict[str, int]
    drifted_features: list[str]
    history: pd.DataFrame = dataclasses.field(repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"endpoint_id": self.endpoint_id, "name": self.name, "scenario": self.scenario, "key": self.key,
                "windows": self.windows, "results": self.results, "failures": self.failures,
                "max_status": self.max_status, "statuses": self.statuses,
                "drifted_features": self.drifted_features}


def summarise(backend: Backend, project: str, scenarios: Sequence[Scenario], endpoint_ids: dict[str, str],
              since_ms: int) -> list[EndpointSummary]:
    """One summary per scenario, from the stored history, latest results and failures."""
    summaries = []
    for scenario in scenarios:
        endpoint_id = endpoint_ids[scenario.key]
        history = result_history(backend, project, endpoint_id=endpoint_id, since_ms=since_ms)
        failures = app_failures(backend, project, endpoint_id=endpoint_id, since_ms=since_ms)
        latest = latest_results(backend, project, endpoint_id=endpoint_id, app_name=DRIFT_APP)
        share = latest[latest["result_name"] == DRIFTED_SHARE]
        drifted = list(share["extra_data"].iloc[0].get("drifted_features", [])) if len(share) else []
        worst = int(history["status"].max()) if len(history) else int(ResultStatusApp.irrelevant)
        counts = history["status_name"].value_counts()
        summaries.append(EndpointSummary(
            key=scenario.key, endpoint_id=endpoint_id, name=scenario.name, scenario=scenario.describe(),
            windows=history["start_ms"].nunique(), results=len(history), failures=len(failures),
            max_status=status_name(worst),
            statuses={s.name: int(counts.get(s.name, 0)) for s in ResultStatusApp if counts.get(s.name, 0)},
            drifted_features=drifted, history=history,
        ))
    return summaries


def to_json(summaries: Sequence[EndpointSummary], elapsed_s: float) -> dict[str, Any]:
    return {"endpoints": [s.to_dict() for s in summaries], "elapsed_s": round(elapsed_s, 1)}


def render_text(summaries: Sequence[EndpointSummary], elapsed_s: float) -> str:
    """A heading and a window × app table per endpoint; each cell is the app's worst result there."""
    blocks = []
    for s in summaries:
        lines = [f"{s.key}  {s.name}  ({s.scenario})  endpoint {s.endpoint_id}",
                 f"   {s.windows} windows, {s.results} results, {s.failures} failures; max status: {s.max_status}"]
        if s.drifted_features:
            lines.append(f"   drifted features (latest window): {', '.join(s.drifted_features)}")
        lines.append(_indent(window_table(s.history)))
        blocks.append("\n".join(lines))
    blocks.append(f"done in {elapsed_s:.1f}s")
    return "\n\n".join(blocks)


def alert_dict(item: Mapping[str, Any]) -> dict[str, Any]:
    """An active alert's fields for ``--json``."""
    return {k: item.get(k) for k in ("config", "severity", "endpoint_id", "endpoint_name", "app", "result", "value",
                                     "window_start_ms", "window_end_ms", "summary")}


def render_alerts(alerts: Sequence[Mapping[str, Any]]) -> str:
    """The active alerts, one line each."""
    if not alerts:
        return "alerts: none active"
    lines = [f"alerts: {len(alerts)} active"]
    lines += [f"   {a.get('summary')}" for a in sorted(alerts, key=lambda a: (str(a.get("endpoint_name")),
                                                                               str(a.get("result"))))]
    return "\n".join(lines)


def window_table(history: pd.DataFrame) -> str:
    """Rows: windows (UTC); columns: apps; cells: ``status result=value`` of the worst result."""
    if history.empty:
        return "(no results)"
    worst = (history.sort_values(["status", "value"], ascending=False, kind="stable")
             .drop_duplicates(["start_ms", "app_name"]))
    worst = worst.assign(cell=[f"{r.status_name} {r.result_name}={r.value:.3g}" for r in worst.itertuples()])
    table = worst.pivot(index="start_ms", columns="app_name", values="cell").sort_index().fillna("-")
    windows = [f"{from_ms(s):%H:%M}-{from_ms(e):%H:%M}" for s, e in
               zip(table.index, table.index + _period(history), strict=True)]
    table.insert(0, "window (UTC)", windows)
    return table.to_string(index=False)


def _period(history: pd.DataFrame) -> int:
    return int((history["end_ms"] - history["start_ms"]).iloc[0])


def _indent(text: str) -> str:
    return "\n".join("   " + line for line in text.splitlines())
