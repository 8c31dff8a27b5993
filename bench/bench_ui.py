"""``modelmon ui``'s JSON API on a large home, through a real server (``modelmon ui`` on 127.0.0.1).

The home (:func:`modelmon.testing.synthetic.synthetic_home`): 10,000 endpoints with 24 windows of three
results each (drift, drift share, latency p99) and an hour of per-minute traffic; one endpoint with 30 days
of 10-minute windows x 12 results, metrics, per-feature drift in every window and 30 days of traffic.
Measured over HTTP with ``httpx`` against ``python -m modelmon ui`` in its own process (JSON encoding and
transfer included): the first request after the server starts (``cold``) and the median of the next
:data:`REPEATS`. Baseline in the same run: what the SDK offers for the same data (``list_model_endpoints`` +
``get_results(history=True)`` for the sparklines; ``get_results``/``get_metrics``/``get_feature_drift`` of
the endpoint), without serving or encoding it. Targets (issue 13): overview of 10,000 endpoints <= 1 s,
endpoint of 30 days x 12 results <= 500 ms; the one-file report <= 3 s and <= 5 MB (:func:`report_figures`).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from modelmon.testing.synthetic import SyntheticHome, synthetic_home

ENDPOINTS = 10_000
DAYS = 30
RESULTS = 12
REPEATS = 5
OVERVIEW_TARGET_S = 1.0
ENDPOINT_TARGET_S = 0.5


REPORT_TARGET_S = 3.0
REPORT_TARGET_BYTES = 5_000_000


def report_figures(built: SyntheticHome, endpoint_id: str) -> dict[str, Any]:
    """The one-file HTML report of ``endpoint_id`` over its 30 days: seconds and bytes (targets 3 s, 5 MB).

    ``report_s``: ``modelmon report`` as a user runs it (a new process: interpreter start, imports, reading,
    writing the file); ``report_build_s``: :func:`modelmon.ui.report.build_report` in this process (median of
    3), what the command spends past its start-up."""
    from modelmon.backends import make_backend
    from modelmon.ui.context import UIContext
    from modelmon.ui.report import build_report

    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        out = Path(tmp) / "report.html"
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "modelmon", "report", "--home", built.home, "--project", built.project,
                        "--endpoint", endpoint_id, "-o", str(out)], check=True, capture_output=True, text=True)
        cli_s = time.perf_counter() - started
        size = out.stat().st_size
    backend = make_backend(built.settings())
    try:
        context = UIContext(built.settings(), backend, built.project)
        report = build_report(context, endpoint_id)
        build_s = _median(lambda: build_report(context, endpoint_id), repeats=3)
    finally:
        backend.close()
    verdict = "ok" if cli_s <= REPORT_TARGET_S and size <= REPORT_TARGET_BYTES else "OVER TARGET"
    print(f"report: {report.windows:,} windows x {report.results} results, {report.histograms} histograms: "
          f"'modelmon report' {cli_s:.2f} s, build_report {build_s:.2f} s, {size / 1e6:.2f} MB  {verdict}")
    return {"report_s": round(cli_s, 3), "report_build_s": build_s, "report_bytes": size,
            "report_windows": report.windows}


def main() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp:
        home = Path(tmp) / "home"
        started = time.perf_counter()
        built = synthetic_home(home, endpoints=ENDPOINTS, days=DAYS, results_per_window=RESULTS, detailed=1)
        build_s = time.perf_counter() - started
        detailed = built.detailed_ids[0]
        print(f"synthetic home: {ENDPOINTS:,} endpoints, one with {built.windows:,} windows x {RESULTS} results, "
              f"built in {build_s:.1f} s")
        figures: dict[str, Any] = {"endpoints": ENDPOINTS, "windows": built.windows, "results": RESULTS,
                                   "build_s": round(build_s, 2)}
        figures |= _served(built, detailed)
        figures |= _baseline(built, detailed)
        figures |= report_figures(built, detailed)
    _print(figures)
    return figures


def _served(built: SyntheticHome, endpoint_id: str) -> dict[str, Any]:
    process = subprocess.Popen([sys.executable, "-m", "modelmon", "ui", "--home", built.home, "--project",
                                built.project, "--port", "0"], stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = line.split(" at ", 1)[1].split()[0].rstrip("/")
        with httpx.Client(base_url=url, timeout=60) as client:
            since = f"{DAYS}d"
            out = {}
            for name, path in (("overview", "/api/overview"),
                               ("overview_sorted_by_requests", "/api/overview?sort=requests_per_min"),
                               ("overview_search", "/api/overview?q=fraud&status=detected,potential_detection"),
                               ("endpoint_30d", f"/api/endpoints/{endpoint_id}?since={since}"),
                               ("endpoint_7d", f"/api/endpoints/{endpoint_id}")):
                cold, warm, size = _timed(client, path)
                out |= {f"{name}_cold_s": cold, f"{name}_s": warm, f"{name}_bytes": size}
            return out
    finally:
        process.terminate()
        process.wait(timeout=30)


def _timed(client: httpx.Client, path: str) -> tuple[float, float, int]:
    times, size = [], 0
    for _ in range(REPEATS + 1):
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        response.raise_for_status()
        size = len(response.content)
    return round(times[0], 3), round(statistics.median(times[1:]), 3), size


def _baseline(built: SyntheticHome, endpoint_id: str) -> dict[str, Any]:
    """The same data read through the SDK (no serving, no JSON)."""
    from modelmon.project import get_or_create_project

    with get_or_create_project(built.project, home=built.home) as project:
        sparkline_since = f"{24 * built.period_ms // 60_000}m"
        overview = _median(lambda: (project.list_model_endpoints(),
                                    project.get_results(history=True, since=sparkline_since)), repeats=2)
        endpoint = _median(lambda: (project.get_results(endpoint_id=endpoint_id, history=True, since=f"{DAYS}d"),
                                    project.get_metrics(endpoint_id=endpoint_id, since=f"{DAYS}d"),
                                    project.get_feature_drift(endpoint_id=endpoint_id, since=f"{DAYS}d")), repeats=2)
    return {"baseline_overview_s": overview, "baseline_endpoint_30d_s": endpoint}


def _median(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 3)


def _print(f: dict[str, Any]) -> None:
    def line(what: str, key: str, target: float | None, baseline: str | None = None) -> None:
        verdict = "" if target is None else ("  ok" if f[f"{key}_s"] <= target else "  OVER TARGET")
        ratio = f"  baseline {f[baseline]:.3f} s ({f[baseline] / f[f'{key}_s']:.1f}x)" if baseline else ""
        print(f"{what:<44} {f[f'{key}_s']:7.3f} s (cold {f[f'{key}_cold_s']:.3f} s) "
              f"{f[f'{key}_bytes'] / 1e6:6.2f} MB{ratio}{verdict}")

    print(f"{'API (median of ' + str(REPEATS) + ', first request apart)':<44}")
    line(f"overview, {f['endpoints']:,} endpoints, page of 50", "overview", OVERVIEW_TARGET_S, "baseline_overview_s")
    line("  sorted by requests/min", "overview_sorted_by_requests", OVERVIEW_TARGET_S)
    line("  filtered (q=fraud, status)", "overview_search", OVERVIEW_TARGET_S)
    line(f"endpoint, 30 days ({f['windows']:,} windows x {f['results']})", "endpoint_30d", ENDPOINT_TARGET_S,
         "baseline_endpoint_30d_s")
    line("endpoint, default range (7 days)", "endpoint_7d", ENDPOINT_TARGET_S)
    if "report_s" in f:
        print(f"report of the endpoint (30 days)              {f['report_s']:7.3f} s  {f['report_bytes'] / 1e6:.2f} MB")
