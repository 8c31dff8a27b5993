"""Controller throughput: 10,000 endpoints × 3 apps planned and dispatched in one process (local backend).

Target (issue 3): one controller run over 10k endpoints × 3 apps, one closed window each, in ≤ 10 s.
Measures a first run (no progress stored yet) and a steady-state run (one new window per pair).
"""

from __future__ import annotations

import pathlib
import tempfile
import time

import pandas as pd

from modelmon.apps.registry import AppRegistry
from modelmon.backends import make_backend
from modelmon.controller import Controller
from modelmon.core.config import Settings
from modelmon.core.paths import ProjectPaths
from modelmon.endpoints.record import ModelEndpoint

ENDPOINTS = 10_000
APPS = ("histogram-data-drift", "data-quality", "system-performance")
PERIOD = 10 * 60_000
T0 = 1_700_000_000_000 // PERIOD * PERIOD
TARGET_S = 10.0


class _Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def _advance(backend, paths: ProjectPaths, ids: list[str], period_index: int) -> None:
    """Every endpoint gets requests in window ``period_index`` and a watermark past its end."""
    start = T0 + period_index * PERIOD
    backend.tsdb.write(paths.predictions_tsdb, pd.DataFrame({
        "time": start + 60_000, "endpoint_id": ids, "count": 5, "latency_sum_us": 500.0, "latency_max_us": 100.0,
    }), labels=["endpoint_id"])
    for ep in ids:
        backend.kv.update(paths.endpoints_table, ep, {"watermark_ms": start + PERIOD + 1000})


def main() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=str(pathlib.Path(tmp) / "home"), project="bench")
        backend = make_backend(settings)
        paths = ProjectPaths(settings.project)
        ids = [f"{i:040x}" for i in range(ENDPOINTS)]
        for ep in ids:
            item = ModelEndpoint(ep, name=f"model-{ep[-4:]}", first_request_ms=T0 + 1000,
                                 feature_names=[f"f{k}" for k in range(20)]).to_item()
            backend.kv.put(paths.endpoints_table, ep, item)
        backend.tsdb.create_table(paths.predictions_tsdb)
        registry = AppRegistry(backend.kv, paths)
        for app in APPS:
            registry.register(app, f"modelmon.apps.x:{app.replace('-', '_')}")
        clock = _Clock(T0)
        controller = Controller.from_settings(settings, backend, clock=clock)

        figures: dict = {"endpoints": ENDPOINTS, "apps": len(APPS), "target_s": TARGET_S}
        for label, index in (("first_run", 0), ("steady_run", 1)):
            _advance(backend, paths, ids, index)
            clock.now = T0 + (index + 1) * PERIOD + 2000
            began = time.perf_counter()
            report = controller.run()
            elapsed = time.perf_counter() - began
            assert report.windows_dispatched == ENDPOINTS * len(APPS), report
            figures[f"{label}_s"] = round(elapsed, 3)
            figures[f"{label}_windows"] = report.windows_dispatched
            figures[f"{label}_windows_per_s"] = round(report.windows_dispatched / elapsed)
        backend.close()
    figures["meets_target"] = max(figures["first_run_s"], figures["steady_run_s"]) <= TARGET_S
    print(f"controller, {ENDPOINTS} endpoints x {len(APPS)} apps, one window per pair (local backend)")
    for label in ("first_run", "steady_run"):
        print(f"  {label:<11} {figures[label + '_s']:7.2f} s  {figures[label + '_windows']} windows  "
              f"({figures[label + '_windows_per_s']}/s)")
    print(f"  target <= {TARGET_S:g} s: {'met' if figures['meets_target'] else 'MISSED'}")
    return figures


if __name__ == "__main__":
    main()
