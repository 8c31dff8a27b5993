"""Controller throughput: 10,000 endpoints × 3 apps planned and dispatched in one process (local backend).

Target (issue 3): one controller run over 10k endpoints × 3 apps, one closed window each, in ≤ 10 s.
Measures a first run (no progress stored yet) and a steady-state run (one new window per pair).

Target (issue 11): the same steady run when one endpoint carries a year-9999 watermark (a bad event
time) takes ≤ 1.1× the run without it, with peak memory (tracemalloc) within 10%. Both pairs of runs
alternate with clean ones in this process, so the ratios compare like with like.

Target (issue 17): 100,000 endpoints × 3 apps, one run ≤ 60 s with the controller process's peak memory
≤ 1 GB, windows still dispatched exactly once. Each run (first, steady, then one with nothing new) is a
fresh process that opens the store and runs the controller once, as a deployed controller does, so its
peak RSS (``getrusage``: interpreter, imports and run) is the run's alone, not the set-up's. Afterwards every
window on the app streams is read back: each (endpoint, app, window) is there exactly once.
"""

from __future__ import annotations

import collections
import multiprocessing
import pathlib
import resource
import tempfile
import time
import tracemalloc

import pandas as pd

from modelmon.apps.registry import AppRegistry
from modelmon.backends import make_backend
from modelmon.backends.base import Update
from modelmon.controller import Controller
from modelmon.core.config import Settings
from modelmon.core.paths import ProjectPaths
from modelmon.endpoints.record import ModelEndpoint
from modelmon.events import WindowEvent
from modelmon.functions.packing import record_messages
from modelmon.testing import stream_records

ENDPOINTS = 10_000
APPS = ("histogram-data-drift", "data-quality", "system-performance")
PERIOD = 10 * 60_000
T0 = 1_700_000_000_000 // PERIOD * PERIOD
TARGET_S = 10.0
YEAR_9999_MS = 253_402_300_799_000
SKEW_TIME_RATIO, SKEW_MEMORY_RATIO = 1.1, 1.1
LARGE_ENDPOINTS = 100_000
LARGE_TARGET_S, LARGE_TARGET_MB = 60.0, 1024.0


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
    watermark = {"watermark_ms": start + PERIOD + 1000}
    for at in range(0, len(ids), 10_000):
        backend.kv.update_many(paths.endpoints_table, [Update(ep, watermark) for ep in ids[at:at + 10_000]])
    if skewed:
        backend.kv.update(paths.endpoints_table, ids[0], {"watermark_ms": YEAR_9999_MS})


def _seed(backend, paths: ProjectPaths, endpoints: int) -> list[str]:
    """``endpoints`` endpoints (20 features each, no traffic yet) and the three apps; their ids."""
    ids = [f"{i:040x}" for i in range(endpoints)]
    for at in range(0, endpoints, 10_000):
        backend.kv.update_many(paths.endpoints_table, [
            Update(ep, ModelEndpoint(ep, name=f"model-{ep[-4:]}", first_request_ms=T0 + 1000,
                                     feature_names=[f"f{k}" for k in range(20)]).to_item())
            for ep in ids[at:at + 10_000]])
    backend.tsdb.create_table(paths.predictions_tsdb)
    registry = AppRegistry(backend.kv, paths)
    for app in APPS:
        registry.register(app, f"modelmon.apps.x:{app.replace('-', '_')}")
    return ids


def _one_run(home: str, now: int, out: multiprocessing.Queue) -> None:
    """A controller process: open the store, run once, report the run's time, counts and peak RSS."""
    settings = Settings(home=home, project="bench")
    backend = make_backend(settings)
    before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    began = time.perf_counter()
    report = Controller.from_settings(settings, backend, clock=_Clock(now)).run()
    elapsed = time.perf_counter() - began
    backend.close()
    out.put({"s": elapsed, "windows": report.windows_dispatched, "claims_lost": report.claims_lost,
             "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "start_mb": before_mb})


def _large(endpoints: int = LARGE_ENDPOINTS) -> dict:
    """Issue 17: first, steady and idle runs over ``endpoints`` × 3 apps, each in a fresh process."""
    figures: dict = {}
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=str(pathlib.Path(tmp) / "home"), project="bench")
        backend = make_backend(settings)
        paths = ProjectPaths(settings.project)
        ids = _seed(backend, paths, endpoints)
        for index, label in enumerate(("first", "steady", "idle")):
            if label != "idle":
                _advance(backend, paths, ids, index)
            out = ctx.Queue()
            process = ctx.Process(target=_one_run, args=(settings.home, T0 + (min(index, 1) + 1) * PERIOD + 2000, out))
            process.start()
            run = out.get(timeout=1800)
            process.join()
            expected = 0 if label == "idle" else endpoints * len(APPS)
            assert process.exitcode == 0 and run["windows"] == expected and run["claims_lost"] == 0, (label, run)
            figures[f"controller_100k_{label}_s"] = round(run["s"], 2)
            figures[f"controller_100k_{label}_peak_mb"] = round(run["peak_mb"], 1)
            figures[f"controller_100k_{label}_start_mb"] = round(run["start_mb"], 1)
        counts: collections.Counter[tuple[str, str, int, int]] = collections.Counter()
        for app in APPS:
            counts.update(WindowEvent.from_body(message).key  # a record may pack many windows
                          for r in stream_records(backend.streams, paths.app_stream(app))
                          for message in record_messages(r.data))
        backend.close()
    figures["controller_100k_windows"] = len(counts)
    figures["controller_100k_exactly_once"] = (len(counts) == 2 * endpoints * len(APPS)
                                               and set(counts.values()) == {1})
    figures["controller_100k_s"] = max(figures["controller_100k_first_s"], figures["controller_100k_steady_s"])
    figures["controller_100k_peak_mb"] = max(figures[f"controller_100k_{label}_peak_mb"]
                                             for label in ("first", "steady", "idle"))
    figures["controller_100k_meets_target"] = (figures["controller_100k_s"] <= LARGE_TARGET_S
                                               and figures["controller_100k_peak_mb"] <= LARGE_TARGET_MB
                                               and figures["controller_100k_exactly_once"])
    return figures


def main() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=str(pathlib.Path(tmp) / "home"), project="bench")
        backend = make_backend(settings)
        paths = ProjectPaths(settings.project)
        ids = _seed(backend, paths, ENDPOINTS)
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
    figures["controller_10k_s"] = max(figures["first_run_s"], figures["steady_run_s"])
    figures |= _large()
    print(f"controller, {LARGE_ENDPOINTS} endpoints x {len(APPS)} apps, each run a fresh process (local backend)")
    for label in ("first", "steady", "idle"):
        key = f"controller_100k_{label}"
        print(f"  {label:<7} {figures[key + '_s']:7.2f} s  peak RSS {figures[key + '_peak_mb']:7.1f} MB "
              f"(after imports and opening the store {figures[key + '_start_mb']} MB)")
    print(f"  {figures['controller_100k_windows']} windows on the app streams, each exactly once: "
          f"{figures['controller_100k_exactly_once']}")
    print(f"  target <= {LARGE_TARGET_S:g} s and <= {LARGE_TARGET_MB:g} MB: "
          f"{'met' if figures['controller_100k_meets_target'] else 'MISSED'}")
    return figures


if __name__ == "__main__":
    main()
