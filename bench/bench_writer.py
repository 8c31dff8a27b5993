"""The writer's result throughput: ``ResultWriter`` on the local backend, and on the v3io backend against the
protocol test servers (for information).

Target (issue 17): >= 20,000 results/s on the local backend with batched records (``write_many``: the list
of writer events Nuclio hands a batching function, or a page of the writer stream), median of the rounds.
Reported besides: one event per call (``write``, the local runtime's delivery), and both through the real
``v3io`` and ``v3io_frames`` clients against ``tests/v3io_server`` and ``tests/frames_server`` on 127.0.0.1
(single-process Python servers: a floor for the client path, not V3IO's speed).

Events as ``bench_alerts`` writes them (so the figures compare with its ~10-13k results/s): 20 endpoints,
one app, 50 results per window, every 10th result ``detected`` (an alert), every 7th suspected; each
round writes later windows than the one before, as a running writer does.
"""

from __future__ import annotations

import os
import pathlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence

from bench.writer_events import writer_events
from modelmon.backends import make_backend
from modelmon.backends.base import Backend
from modelmon.core.config import Settings
from modelmon.core.paths import ProjectPaths
from modelmon.events import WriterEvent
from modelmon.writer import ResultWriter

PROJECT = "bench"
ENDPOINTS = 20
RESULTS_PER_EVENT = 50
EVENTS_PER_ROUND = 600
ROUNDS = 5
BATCH = 100  # events per write_many
V3IO_EVENTS_PER_ROUND, V3IO_ROUNDS = 100, 3
TARGET_RESULTS_S = 20_000


def _one_by_one(writer: ResultWriter, events: Sequence[WriterEvent]) -> None:
    for event in events:
        writer.write(event)


def _batched(writer: ResultWriter, events: Sequence[WriterEvent]) -> None:
    for first in range(0, len(events), BATCH):
        writer.write_many(events[first:first + BATCH])


def _rates(backend: Backend, write: Callable[[ResultWriter, Sequence[WriterEvent]], None], per_round: int,
           rounds: int, first_round: int) -> tuple[list[float], list[float]]:
    """Results per second of each round, on the wall clock and per CPU second of this process (steadier on a
    shared machine), after one warm-up round (tables created, caches filled)."""
    writer = ResultWriter(backend, ProjectPaths(PROJECT))
    write(writer, writer_events(first_round, per_round, endpoints=ENDPOINTS, results=RESULTS_PER_EVENT))
    wall, cpu = [], []
    for round_ in range(first_round + 1, first_round + 1 + rounds):
        events = writer_events(round_, per_round, endpoints=ENDPOINTS, results=RESULTS_PER_EVENT)
        started, used = time.perf_counter(), time.process_time()
        write(writer, events)
        wall.append(per_round * RESULTS_PER_EVENT / (time.perf_counter() - started))
        cpu.append(per_round * RESULTS_PER_EVENT / (time.process_time() - used))
    return wall, cpu


def _modes() -> dict[str, Callable[[ResultWriter, Sequence[WriterEvent]], None]]:
    """One event per call always; batched when the writer offers ``write_many``."""
    modes: dict[str, Callable[[ResultWriter, Sequence[WriterEvent]], None]] = {"one_event": _one_by_one}
    if hasattr(ResultWriter, "write_many"):
        modes["batched"] = _batched
    return modes


def _v3io() -> dict[str, list[float]]:
    """Wall-clock rates only: the servers run in this process's threads, so its CPU time includes theirs."""
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests"))
    from v3io_server.stack import v3io_backend

    figures = {}
    with v3io_backend() as opener:
        for index, (mode, write) in enumerate(_modes().items()):
            backend = opener()
            try:
                figures[mode] = _rates(backend, write, V3IO_EVENTS_PER_ROUND, V3IO_ROUNDS, 100 * (index + 1))[0]
            finally:
                backend.close()
    return figures


def main() -> dict[str, object]:
    local: dict[str, list[float]] = {}
    local_cpu: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as home:
        for index, (mode, write) in enumerate(_modes().items()):
            backend = make_backend(Settings(home=str(pathlib.Path(home) / mode), project=PROJECT))
            try:
                local[mode], local_cpu[mode] = _rates(backend, write, EVENTS_PER_ROUND, ROUNDS, 100 * index)
            finally:
                backend.close()
    v3io = _v3io()
    load = os.getloadavg()[0]

    def line(name: str, rates: list[float] | None) -> str:
        if not rates:
            return f"{name:<34} not available (ResultWriter has no write_many)"
        return (f"{name:<34} {statistics.median(rates):>8,.0f} results/s median "
                f"({', '.join(f'{r:,.0f}' for r in rates)})")

    print(f"{RESULTS_PER_EVENT} results per event, {ENDPOINTS} endpoints, batches of {BATCH} events; "
          f"load average {load:.2f}")
    print(line("local, batched (write_many)", local.get("batched")))
    print(line("local, batched, per CPU second", local_cpu.get("batched")))
    print(line("local, one event per call", local.get("one_event")))
    print(line("local, one event, per CPU second", local_cpu.get("one_event")))
    print(line("v3io test servers, batched", v3io.get("batched")))
    print(line("v3io test servers, one event", v3io.get("one_event")))
    batched = local.get("batched")
    met = bool(batched) and statistics.median(batched or [0]) >= TARGET_RESULTS_S
    print(f"target: local batched >= {TARGET_RESULTS_S:,} results/s (median): {'met' if met else 'NOT met'}")
    return {"results_per_event": RESULTS_PER_EVENT, "batch_events": BATCH,
            "local_results_s": batched or None, "local_one_event_results_s": local["one_event"],
            "local_cpu_results_s": local_cpu.get("batched"), "local_one_event_cpu_results_s": local_cpu["one_event"],
            "v3io_results_s": v3io.get("batched"), "v3io_one_event_results_s": v3io["one_event"],
            "load_1m": load, "meets_target": met}
