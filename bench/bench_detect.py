"""Time to detect: from a window's close to its results being readable, the bundle running as processes.

Target (issue 17): with 1,000 endpoints, 3 apps and a 1-second controller interval, the median time from a
window's close to its results being readable through the SDK's reader is <= 2 s, the p99 <= 5 s.

The bundle runs as ``modelmon run`` runs it (:class:`~modelmon.local_nuclio.LocalRuntime`: the stream
function, the controller on a 1 s cron, the writer, the alerts function and the demo's three apps, each its
own process, on the local backend), rendered as the demo renders it (one-minute windows). This process
registers the endpoints (a 4-feature reference each) and the apps, then plays the producers: in the first
:data:`SEND_S` seconds of every one-minute window each endpoint sends one tracking record (its requests of
the second before, :data:`REQUESTS_PER_RECORD` of them), spread evenly over the endpoints, as serving
functions flushing their tracking buffers would.

A window's close is its end plus the grace, ``MODELMON_GRACE_MINUTES`` = :data:`GRACE_MINUTES` here: an
endpoint whose watermark (latest stored event time) stood still has its window closed once the end has passed
on the wall clock (live traffic past the end closes it by the watermark, never later). So every window of
this run closes at its end, and the time measured is the pipeline's: the controller's next run, dispatch to
the app streams, the apps, the writer. Readable: :func:`modelmon.queries.result_history` of that window
returns the pair's results (polled every :data:`POLL_S`; one latency per endpoint x app x window). The
breakdown (medians from the end): the window events' arrival on the app streams (``dispatched``), the
apps' writer events' arrival on the writer stream (``analysed``), the writer's stamp (``written``); and the
CPU seconds each function's process used from the close until every pair was readable (Linux).
The first :data:`WARMUP` closes after the functions start are measured and printed but left out of the figures the
target judges: that window is the first each app function sees of every endpoint, so it also pays what a running
function does once per endpoint (reading its reference rows, the histogram app's fits on them), seconds of CPU
at 1,000 endpoints that a function running for days never pays again (its figures are ``cold_median_s`` and
``cold_p99_s``). ``BENCH_DETECT_ENDPOINTS``, ``BENCH_DETECT_WINDOWS`` and ``BENCH_DETECT_WARMUP`` change the
scale for a quick look (the summary judges the target at 1,000 endpoints only).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import orjson
import pandas as pd

from modelmon.apps.registry import AppRegistry
from modelmon.backends import Backend, OutRecord, make_backend
from modelmon.core.config import Settings
from modelmon.core.paths import ProjectPaths
from modelmon.core.timeutil import now_ms
from modelmon.demo.bundle import render_demo_functions
from modelmon.demo.session import DEMO_APPS
from modelmon.deploy.render import default_bundle_dir
from modelmon.endpoints.registration import register_model_endpoint
from modelmon.events import endpoint_uid, tracking_body
from modelmon.local_nuclio import LocalRuntime
from modelmon.queries import result_history

PROJECT = "detect"
ENDPOINTS = int(os.environ.get("BENCH_DETECT_ENDPOINTS", "1000"))
WINDOWS = int(os.environ.get("BENCH_DETECT_WINDOWS", "2"))  # closes measured (each one minute apart)
WARMUP = int(os.environ.get("BENCH_DETECT_WARMUP", "1"))  # closes before them: the functions' first windows
REQUESTS_PER_RECORD = 10
SEND_S = 30  # every endpoint's record of a window is sent in the window's first SEND_S seconds
SEND_GROUP = 10  # endpoints whose records go in one put
GRACE_MINUTES = 0
FEATURES = ("f0", "f1", "f2", "f3")
PERIOD_MS = 60_000
POLL_S = 0.2
TARGET_MEDIAN_S, TARGET_P99_S = 2.0, 5.0
FUNCTION_URI = f"{PROJECT}/serving"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclasses.dataclass
class Producer:
    """Sends one tracking record per endpoint in the first :data:`SEND_S` seconds of every window, until stopped.

    Endpoint ``i`` of ``n`` sends at ``i / n * SEND_S`` into the window; its record holds the requests of the
    second before (the last one at the send time), as a serving function's tracking buffer flushed then."""

    backend_settings: Settings
    names: list[str]
    first_start_ms: int
    stop: threading.Event = dataclasses.field(default_factory=threading.Event)
    lag_s: list[float] = dataclasses.field(default_factory=list)  # per send: how long after its time it went

    def run(self) -> None:
        backend = make_backend(self.backend_settings)
        stream = ProjectPaths(PROJECT).tracking_stream
        backend.streams.create(stream)
        rng = np.random.default_rng(0)
        step_ms = SEND_S * 1000 // len(self.names)
        start = self.first_start_ms
        try:
            while not self.stop.is_set():
                for first in range(0, len(self.names), SEND_GROUP):  # a group of endpoints per put
                    at = start + first * step_ms
                    time.sleep(max(0.0, (at - now_ms()) / 1000))
                    if self.stop.is_set():
                        return
                    records = [self._record(name, at, rng) for name in self.names[first:first + SEND_GROUP]]
                    backend.streams.put_records(stream, records)
                    self.lag_s.append((now_ms() - at) / 1000)
                start += PERIOD_MS
        finally:
            backend.close()

    @staticmethod
    def _record(name: str, at: int, rng: np.random.Generator) -> OutRecord:
        times = at - 1000 + (np.arange(1, REQUESTS_PER_RECORD + 1) * 1000) // REQUESTS_PER_RECORD
        rows = rng.normal(size=(REQUESTS_PER_RECORD, len(FEATURES))).round(4).tolist()
        requests = [{"request": {"id": f"{name}-{t}-{i}", "inputs": [row]},
                     "resp": {"id": f"{name}-{t}-{i}", "model_name": name, "model_version": "1",
                              "outputs": [int(row[0] > 0)]},
                     "when": str(_EPOCH + dt.timedelta(milliseconds=int(t))), "microsec": 2_000}
                    for i, (t, row) in enumerate(zip(times.tolist(), rows, strict=True))]
        body = tracking_body(model=name, version="1", function_uri=FUNCTION_URI, requests=requests,
                             model_class="sklearn.linear_model.LogisticRegression")
        return OutRecord(orjson.dumps(body), partition_key=endpoint_uid(PROJECT, FUNCTION_URI, name, "1"))


def _register(settings: Settings, count: int) -> list[str]:
    """``count`` endpoints with a 4-feature reference (the drift app compares against it); their names."""
    backend = make_backend(settings)
    rng = np.random.default_rng(1)
    reference = pd.DataFrame(rng.normal(size=(500, len(FEATURES))), columns=list(FEATURES))
    names = [f"model-{i:04d}" for i in range(count)]
    try:
        for name in names:
            register_model_endpoint(backend, PROJECT, name, reference_data=reference, label_names=["prediction"],
                                    model_class="sklearn.linear_model.LogisticRegression",
                                    function_uri=FUNCTION_URI, model_version="1")
    finally:
        backend.close()
    return names


def _wait_for_window(settings: Settings, end_ms: int, pairs: int, deadline_s: float) -> list[float]:
    """Seconds from ``end_ms`` to each endpoint x app pair's results of the window ending there being readable."""
    backend = make_backend(settings)
    seen: dict[tuple[str, str], float] = {}
    try:
        while len(seen) < pairs and time.monotonic() < deadline_s:
            history = result_history(backend, PROJECT, since_ms=end_ms, until_ms=end_ms + 1)
            at = now_ms()
            for pair in zip(history["endpoint_id"], history["app_name"], strict=True):
                seen.setdefault(pair, (at - end_ms) / 1000)
            time.sleep(POLL_S)
    finally:
        backend.close()
    return sorted(seen.values())


def _arrivals(backend: Backend, path: str, end_ms: int) -> list[int]:
    """Arrival times (epoch ms) of the messages of stream ``path`` about the window ending at ``end_ms`` (one per
    message: a packed record counts each window it carries)."""
    out: list[int] = []
    for shard in range(backend.streams.describe(path).shards):
        position = 1
        while records := backend.streams.read(path, shard, position, limit=1000):
            for record in records:  # a packed record (a JSON array) carries many windows
                data = orjson.loads(record.data)
                out.extend(record.arrival_ms for message in (data if isinstance(data, list) else [data])
                           if message.get("end_ms") == end_ms)
            position = records[-1].sequence + 1
    return out


def _stages(settings: Settings, end_ms: int, apps: list[str]) -> dict[str, float]:
    """Median seconds from ``end_ms`` to each stage of the window's way: pushed to the app streams by the
    controller, pushed to the writer stream by the apps, stamped by the writer (its TSDB rows)."""
    backend = make_backend(settings)
    paths = ProjectPaths(PROJECT)
    try:
        dispatched = [t for app in apps for t in _arrivals(backend, paths.app_stream(app), end_ms)]
        analysed = _arrivals(backend, paths.writer_stream, end_ms)
        rows = backend.tsdb.read(paths.app_results_tsdb, end_ms, end_ms + 1)
        written = [] if rows.empty else rows.groupby(["endpoint_id", "app_name"])["updated_ms"].max().astype(
            int).tolist()
    finally:
        backend.close()

    def since_end(times: list[int]) -> float:
        return (statistics.median(times) - end_ms) / 1000 if times else float("nan")

    return {"dispatched_s": since_end(dispatched), "analysed_s": since_end(analysed), "written_s": since_end(written)}


def _cpu_seconds(runtime: LocalRuntime) -> dict[str, float]:
    """CPU seconds (user + system) each function's process has used so far (Linux ``/proc``), and this one's."""
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for name, status in runtime.status().items():
        try:
            fields = Path(f"/proc/{status.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        out[name.removeprefix(f"{PROJECT}-")] = (int(fields[11]) + int(fields[12])) / ticks
    out["this process (producer, reader)"] = time.process_time()
    return out


def _quantile(values: list[float], q: float) -> float:
    return float(np.quantile(values, q)) if values else float("nan")


def main() -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        settings = Settings(home=str(home), project=PROJECT, base_period_minutes=1, grace_minutes=GRACE_MINUTES)
        bundle_dir = default_bundle_dir().resolve()
        bundle = render_demo_functions(bundle_dir, settings, DEMO_APPS, "1s").write(home / "bundle")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(bundle_dir),
                                                                        os.environ.get("PYTHONPATH", "")) if p)}
        runtime = LocalRuntime(bundle.directory, settings, env=env, log_file=home / "functions.log")
        runtime.start()
        producer: Producer | None = None
        thread: threading.Thread | None = None
        try:
            backend = make_backend(settings)
            registry = AppRegistry(backend.kv, ProjectPaths(PROJECT), settings.base_period_minutes)
            for app in bundle.apps:
                registry.register(app.name, app.class_path)
            backend.close()
            started = time.monotonic()
            names = _register(settings, ENDPOINTS)
            print(f"{ENDPOINTS} endpoints registered in {time.monotonic() - started:.1f}s; "
                  f"{len(bundle.names)} functions: {', '.join(bundle.names)}", flush=True)
            runtime.wait_ready(120)
            first_start = (now_ms() // PERIOD_MS + 1) * PERIOD_MS  # traffic starts with the next window
            print(f"traffic starts at {pd.Timestamp(first_start, unit='ms'):%H:%M:%S}", flush=True)
            producer = Producer(settings, names, first_start)
            thread = threading.Thread(target=producer.run, name="producer", daemon=True)
            thread.start()
            first_end = first_start + PERIOD_MS
            pairs = ENDPOINTS * len(bundle.apps)
            per_window: list[list[float]] = []
            cold: list[float] = []  # the warm-up windows' latencies
            stages: list[dict[str, float]] = []
            cpu_per_window: list[dict[str, float]] = []
            for k in range(WARMUP + WINDOWS):
                end = first_end + k * PERIOD_MS
                time.sleep(max(0.0, (end - now_ms()) / 1000))
                cpu_before = _cpu_seconds(runtime)
                latencies = _wait_for_window(settings, end, pairs, time.monotonic() + 50)
                cpu = {name: round(used - cpu_before.get(name, 0.0), 2) for name, used in _cpu_seconds(runtime).items()}
                stage = _stages(settings, end, [a.name for a in bundle.apps])
                if k < WARMUP:
                    cold.extend(latencies)
                else:
                    cpu_per_window.append(cpu)
                    per_window.append(latencies)
                    stages.append(stage)
                breakdown = ", ".join(f"{name[:-2]} {seconds:.2f}s" for name, seconds in stage.items())
                label = " (warm-up: the functions' first window, not counted)" if k < WARMUP else ""
                print(f"window ending {pd.Timestamp(end, unit='ms'):%H:%M:%S}{label}: {len(latencies)}/{pairs} pairs "
                      f"readable; median {_quantile(latencies, 0.5):.2f}s, p99 {_quantile(latencies, 0.99):.2f}s, "
                      f"max {max(latencies, default=float('nan')):.2f}s; medians: {breakdown}; "
                      f"load {os.getloadavg()[0]:.2f}", flush=True)
                print("  CPU seconds from the close until all readable: "
                      + ", ".join(f"{name} {used:.1f}" for name, used in sorted(cpu.items(), key=lambda kv: -kv[1])),
                      flush=True)
        finally:
            if producer is not None:
                producer.stop.set()
            if thread is not None:
                thread.join(10)
            runtime.stop()
    every = [v for window in per_window for v in window]
    missing = WINDOWS * pairs - len(every)
    median, p99 = _quantile(every, 0.5), _quantile(every, 0.99)
    if missing:  # a pair never readable within the wait counts as slower than any measured
        p99 = float("inf") if missing > 0.01 * WINDOWS * pairs else p99
    lag = producer.lag_s if producer is not None else []
    print(f"time to detect over {WINDOWS} windows x {pairs} pairs: median {median:.2f}s "
          f"(target <= {TARGET_MEDIAN_S:g}s), "
          f"p99 {p99:.2f}s (target <= {TARGET_P99_S:g}s); {missing} pairs not readable within 50s; "
          f"producer sends {statistics.median(lag) if lag else float('nan'):.2f}s late (median)"
          + (f"; warm-up: median {_quantile(cold, 0.5):.2f}s, p99 {_quantile(cold, 0.99):.2f}s" if WARMUP else ""))
    return {"endpoints": ENDPOINTS, "apps": len(DEMO_APPS), "windows": WINDOWS, "warmup_windows": WARMUP,
            "cold_median_s": _quantile(cold, 0.5), "cold_p99_s": _quantile(cold, 0.99), "controller_interval_s": 1,
            "median_s": median, "p99_s": p99, "max_s": max(every, default=float("nan")), "missing_pairs": missing,
            **{f"{k[:-2]}_median_s": statistics.median(s[k] for s in stages) for k in (stages[0] if stages else {})},
            "function_cpu_s_per_window": cpu_per_window,
            "producer_lag_median_s": statistics.median(lag) if lag else None, "load_1m": os.getloadavg()[0],
            "ok": median <= TARGET_MEDIAN_S and p99 <= TARGET_P99_S}
