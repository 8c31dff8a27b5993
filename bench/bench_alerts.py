"""The writer's result throughput with and without the alerts function consuming the same writer stream.

Target (issue 14): with 100 alert configs and a receiver that answers in 1 s, the writer's throughput
(``ResultWriter.write`` over many writer events, >= 10k results/s) drops by <= 5% while an alerts process
runs, same-run ratio. Rounds alternate writer-alone and writer-with-alerts in one local backend (one
SQLite home, as ``modelmon run`` has); in the "with" rounds a separate process reads the writer stream
with its own consumer group, evaluates every event against the 100 configs (``Evaluator``), enqueues the
notifications and delivers them (``Deliveries``) to a webhook receiver that sleeps 1 s per request.

The 100 configs are spread as a project would have them: 5 per endpoint, each on one result, so an event
matches a few configs. (When every config watches every result of every endpoint, each event with a few
detected results makes hundreds of notifications, and on the local backend the alerts process's KV writes
then compete with the writer's for the one SQLite file; on V3IO the items are independent.)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

from bench.writer_events import writer_events
from modelmon.alerts.configs import AlertConfig, AlertConfigStore
from modelmon.backends import make_backend
from modelmon.backends.base import Backend, OutRecord
from modelmon.core.config import Settings
from modelmon.core.paths import ProjectPaths
from modelmon.events import WriterEvent
from modelmon.writer import ResultWriter

PROJECT = "bench"
CONFIGS = 100
ENDPOINTS = 20
RESULTS_PER_EVENT = 50
EVENTS_PER_ROUND = 600
ROUNDS = 8  # each: writer alone and writer with the alerts process, in alternating order
TARGET_RESULTS_S, TARGET_DROP = 10_000, 0.05

#: The alerts process: a 1 s webhook receiver, then read -> evaluate -> enqueue -> deliver until stopped.
ALERTS_PROCESS = textwrap.dedent("""
    import http.server, os, signal, sys, threading, time
    from modelmon.alerts.delivery import Deliveries
    from modelmon.alerts.evaluator import Evaluator
    from modelmon.backends import make_backend
    from modelmon.core.config import Settings
    from modelmon.core.paths import ProjectPaths
    from modelmon.core.timeutil import now_ms
    from modelmon.events import WriterEvent

    class Slow(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            time.sleep(1.0)
            self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ["BENCH_HOOK_URL"] = f"http://127.0.0.1:{server.server_address[1]}/hook"
    settings = Settings(home=sys.argv[1], project=sys.argv[2])
    backend, paths = make_backend(settings), ProjectPaths(sys.argv[2])
    evaluator = Evaluator(backend.kv, paths)
    deliveries = Deliveries(backend.kv, paths, clock=now_ms, timeout_s=5.0)
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    streams, path, group = backend.streams, paths.writer_stream, "alerts"
    events = notes = 0
    last_sent = 0.0
    print("ready", flush=True)
    while not stop:
        records = streams.read(path, 0, streams.committed(path, group, 0) or 1, limit=100)
        for record in records:
            notes += len(evaluator.evaluate(WriterEvent.from_body(record.data), outbox=deliveries.enqueue))
            events += 1
        if records:
            streams.commit(path, group, 0, records[-1].sequence + 1)  # the next record to read
        if records or time.monotonic() - last_sent >= 1.0:  # as the function: after events, else on a tick
            deliveries.deliver_due(budget_s=2.0)
            last_sent = time.monotonic()
        if not records:
            time.sleep(0.2)
    print(f"events={events} notifications={notes} delivered={len(deliveries.list(state='delivered'))}", flush=True)
""")


def _write(writer: ResultWriter, events: list[WriterEvent]) -> float:
    """Results per second writing ``events``."""
    started = time.perf_counter()
    for event in events:
        writer.write(event)
    return len(events) * RESULTS_PER_EVENT / (time.perf_counter() - started)


def _write_with_alerts(backend: Backend, paths: ProjectPaths, writer: ResultWriter, events: list[WriterEvent],
                       home: str) -> tuple[float, str]:
    """Results per second writing ``events`` while an alerts process reads them from the writer stream
    (evaluating, enqueueing, delivering), and what that process reports when stopped."""
    for start in range(0, len(events), 500):  # what the app functions put on the writer stream
        backend.streams.put_records(paths.writer_stream, [OutRecord(e.to_body(), partition_key=e.endpoint_id)
                                                          for e in events[start:start + 500]])
    proc = subprocess.Popen([sys.executable, "-c", ALERTS_PROCESS, home, PROJECT], stdout=subprocess.PIPE,
                            text=True, env=dict(os.environ))
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(0.5)  # the alerts process is reading and delivering
        rate = _write(writer, events)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=60)
    return rate, out.strip()


def main() -> dict[str, object]:
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=home, project=PROJECT)
        backend, paths = make_backend(settings), ProjectPaths(PROJECT)
        store = AlertConfigStore(backend.kv, paths)
        for i in range(CONFIGS):  # 5 configs per endpoint, each on one result (see the module's note)
            store.store(AlertConfig(name=f"drift-{i:03d}", events=("data_drift_detected", "data_drift_suspected"),
                                    severity="high", cooldown_s=600 * (i % 3), endpoints=(f"model-{i % ENDPOINTS}",),
                                    results=(f"feature_{i % RESULTS_PER_EVENT}",),
                                    notifications=({"kind": "webhook", "url_env": "BENCH_HOOK_URL"},)))
        backend.streams.create(paths.writer_stream, shards=1)
        writer = ResultWriter(backend, paths)
        # warm up: tables created, caches filled; later rounds are later windows
        _write(writer, writer_events(0, EVENTS_PER_ROUND, endpoints=ENDPOINTS, results=RESULTS_PER_EVENT))
        alone: list[float] = []
        with_alerts: list[float] = []
        report = ""
        windows = iter(range(1, 2 * ROUNDS + 1))  # each measurement writes later windows than the one before
        for round_ in range(ROUNDS):
            # alone-with, then with-alone: a drift over the run (the store grows) weighs on both sides alike
            for alerts in ((False, True) if round_ % 2 == 0 else (True, False)):
                events = writer_events(next(windows), EVENTS_PER_ROUND, endpoints=ENDPOINTS,
                                       results=RESULTS_PER_EVENT)
                if not alerts:
                    alone.append(_write(writer, events))
                    continue
                rate, report = _write_with_alerts(backend, paths, writer, events, home)
                with_alerts.append(rate)
        backend.close()
    ratio = statistics.median(with_alerts) / statistics.median(alone)
    print(f"writer alone:       {', '.join(f'{r:,.0f}' for r in alone)} results/s")
    print(f"with alerts:        {', '.join(f'{r:,.0f}' for r in with_alerts)} results/s "
          f"({CONFIGS} configs, receiver answering in 1 s)")
    print(f"ratio (medians):    {ratio:.3f} (target >= {1 - TARGET_DROP:.2f}, and >= {TARGET_RESULTS_S:,} results/s)")
    print(f"last alerts process: {report}")
    return {"alone_results_s": alone, "with_alerts_results_s": with_alerts, "ratio": ratio,
            "alerts_process": report, "ok": ratio >= 1 - TARGET_DROP and min(alone) >= TARGET_RESULTS_S}
