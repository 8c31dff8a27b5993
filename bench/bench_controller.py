"""Controller throughput: 10,000 endpoints × 3 apps planned and dispatched in one process (local backend).

Target (issue 3): one controller run over 10k endpoints × 3 apps, one closed window each, in ≤ 10 s.
Measures a first run (no progress stored yet) and a steady-state run (one new window per pair).

Target (issue 11): the same steady run when one endpoint carries a year-9999 watermark (a bad event
time) takes ≤ 1.1× the run without it, with peak memory (tracemalloc) within 10%. Both pairs of runs
alternate with clean ones in this process, so the ratios compare like with like.
"""

from __future__ import annotations

import pathlib
import tempfile
import time
import tracemalloc

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
YEAR_9999_MS = 253_402_300_799_000
SKEW_TIME_RATIO, SKEW_MEMORY_RATIO = 1.1, 1.1


class _Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def _advance(backend, paths: ProjectPaths, ids: list[str], period_index: int, skewed: bool = False) -> None:
    """Every endpoint gets requests in window ``period_index`` and a watermark past its end; with ``skewed``
    the first endpoint's watermark is in the year 9999 instead."""
    start = T0 + period_index * PERIOD
    backend.tsdb.write(paths.predictions_tsdb, pd.DataFrame({
        "time": start + 60_000, "endpoint_id": ids, "count": 5, "latency_sum_us": 500.0, "latency_max_us": 100.0,
    }), labels=["endpoint_id"])
    for ep in ids:
        backend.kv.update(paths.endpoints_table, ep, {"watermark_ms": start + PERIOD + 1000})
    if skewed:
        backend.kv.update(paths.endpoints_table, ids[0], {"watermark_ms": YEAR_9999_MS})


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
        runs = [("first_run", False, False), ("steady_run", False, False), ("skewed_run", True, False),
                ("steady_traced", False, True), ("skewed_traced", True, True)]
        for index, (label, skewed, traced) in enumerate(runs):
            _advance(backend, paths, ids, index, skewed)
            clock.now = T0 + (index + 1) * PERIOD + 2000
            if traced:
                tracemalloc.start()
            began = time.perf_counter()
            report = controller.run()
            elapsed = time.perf_counter() - began
            if traced:
                figures[f"{label}_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
                tracemalloc.stop()
            assert report.windows_dispatched == ENDPOINTS * len(APPS), report
            figures[f"{label}_s"] = round(elapsed, 3)
            figures[f"{label}_windows"] = report.windows_dispatched
            figures[f"{label}_windows_per_s"] = round(report.windows_dispatched / elapsed)
        backend.close()
    figures["meets_target"] = max(figures["first_run_s"], figures["steady_run_s"]) <= TARGET_S
    figures["skew_time_ratio"] = round(figures["skewed_run_s"] / figures["steady_run_s"], 3)
    figures["skew_memory_ratio"] = round(figures["skewed_traced_peak_mb"] / figures["steady_traced_peak_mb"], 3)
    figures["meets_skew_target"] = (figures["skew_time_ratio"] <= SKEW_TIME_RATIO
                                    and figures["skew_memory_ratio"] <= SKEW_MEMORY_RATIO)
    print(f"controller, {ENDPOINTS} endpoints x {len(APPS)} apps, one window per pair (local backend)")
    for label, _, traced in runs:
        memory = f"  peak {figures[label + '_peak_mb']} MB (tracemalloc)" if traced else ""
        print(f"  {label:<13} {figures[label + '_s']:7.2f} s  {figures[label + '_windows']} windows  "
              f"({figures[label + '_windows_per_s']}/s){memory}")
    print(f"  target <= {TARGET_S:g} s: {'met' if figures['meets_target'] else 'MISSED'}")
    print(f"  one endpoint at year 9999: time x{figures['skew_time_ratio']}, memory x{figures['skew_memory_ratio']} "
          f"(target <= x{SKEW_TIME_RATIO:g} each): {'met' if figures['meets_skew_target'] else 'MISSED'}")
    return figures


if __name__ == "__main__":
    main()
