"""Profile of one window close of ``bench detect``, each function driven in this process (not a benchmark).

``python -m bench.profile_detect [endpoints] [--profile STAGE]`` registers the endpoints and the demo's three
apps on a fresh local home, sends every endpoint one window of the bench's traffic, and runs the warm-up
window through the controller, the three apps and the writer, as the functions would (one store connection
each). The next window is then run the same way and each stage's CPU time per window printed: what ``bench
detect``'s CPU seconds per close come from, without the processes, the cron or the machine's other load.
``--profile STAGE`` (``controller``, an app name, ``writer``) prints that stage's cProfile of the measured window;
``--keep DIR`` leaves the home in ``DIR`` for a look afterwards; ``--repeat N`` (3) runs the measured window's
app and writer stages N times (idempotent) and prints the least CPU time of each.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.bench_detect import FEATURES, PERIOD_MS, PROJECT, Producer, _register
from modelmon.apps.registry import AppRegistry
from modelmon.apps.runner import AppRunner
from modelmon.apps.runner.loader import load_app
from modelmon.backends import Backend, make_backend
from modelmon.controller import Controller
from modelmon.core.config import Settings
from modelmon.core.paths import ProjectPaths
from modelmon.core.timeutil import now_ms
from modelmon.demo.bundle import render_demo_functions
from modelmon.demo.session import DEMO_APPS
from modelmon.deploy.render import default_bundle_dir
from modelmon.stream import Ingestor, RawRecord
from modelmon.stream.times import TimeBounds
from modelmon.writer import ResultWriter

assert FEATURES


class Reader:
    """Every record of one stream after those already read."""

    def __init__(self, backend: Backend, path: str) -> None:
        self.backend, self.path = backend, path
        backend.streams.create(path)
        self.next = {shard: 1 for shard in range(backend.streams.describe(path).shards)}

    def records(self) -> list[Any]:
        out = []
        for shard, position in self.next.items():
            while records := self.backend.streams.read(self.path, shard, position, limit=1000):
                out.extend(records)
                position = records[-1].sequence + 1
            self.next[shard] = position
        return out


def main(argv: list[str]) -> None:
    endpoints = int(argv[0]) if argv and argv[0].isdigit() else 1000
    profiled = argv[argv.index("--profile") + 1] if "--profile" in argv else None
    repeats = int(argv[argv.index("--repeat") + 1]) if "--repeat" in argv else 3
    keep = argv[argv.index("--keep") + 1] if "--keep" in argv else None
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(keep or tmp) / "home"
        settings = Settings(home=str(home), project=PROJECT, base_period_minutes=1, grace_minutes=0)
        bundle = render_demo_functions(default_bundle_dir().resolve(), settings, DEMO_APPS, "1s").write(
            home / "bundle")
        setup = make_backend(settings)
        registry = AppRegistry(setup.kv, ProjectPaths(PROJECT), settings.base_period_minutes)
        for app in bundle.apps:
            registry.register(app.name, app.class_path)
        names = _register(settings, endpoints)
        paths = ProjectPaths(PROJECT)
        first = (now_ms() // PERIOD_MS - 4) * PERIOD_MS  # two windows ending in the past
        clock = {"now": first}

        def tick() -> int:
            return clock["now"]

        stream_backend = make_backend(settings)
        ingestor = Ingestor(stream_backend, PROJECT, bounds=TimeBounds.from_settings(settings))
        ingestor.setup()
        controller = Controller.from_settings(settings, make_backend(settings), clock=tick)
        runners = {app.name: AppRunner(load_app(app.class_path, {}), app.name, make_backend(settings), paths)
                   for app in bundle.apps}
        app_readers = {name: Reader(setup, paths.app_stream(name)) for name in runners}
        writer = ResultWriter(make_backend(settings), paths)
        writer_reader = Reader(setup, paths.writer_stream)
        producer = Producer(settings, names, first)
        rng = np.random.default_rng(0)
        sequence = [0]

        def ingest(start: int) -> None:
            step = 30_000 // len(names)
            for i, name in enumerate(names):
                sequence[0] += 1
                record = producer._record(name, start + 1000 + i * step, rng)
                ingestor.process(RawRecord(record.data, 0, sequence[0]))

        def stage(name: str, work: Callable[[], Any], profile: bool) -> float:
            profiler = cProfile.Profile() if profile else None
            began = time.process_time()
            if profiler is not None:
                profiler.enable()
            work()
            if profiler is not None:
                profiler.disable()
            used = time.process_time() - began
            if profiler is not None:
                print(f"--- profile of {name}")
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(60)
                pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
            return used

        for k in range(3):
            start = first + k * PERIOD_MS
            began = time.process_time()
            ingest(start)
            ingest_s = time.process_time() - began
            clock["now"] = start + PERIOD_MS + 100
            measured = k == 2
            used = {"stream (ingest, not per close)": ingest_s}
            used["controller"] = stage("controller", controller.run, measured and profiled == "controller")
            repeat = repeats if measured else 1
            for name, runner in runners.items():
                records = app_readers[name].records()

                def run_app(runner: AppRunner = runner, records: list[Any] = records) -> None:
                    for record in records:
                        runner.handle_record(record.data, (record.shard, record.sequence))
                # a window analysed again is harmless (the writer keys it): the least of a few runs is the least noisy
                used[name] = min(stage(name, run_app, measured and profiled == name and i == 0) for i in range(repeat))
            records = writer_reader.records()
            records = records[:len(records) // repeat]  # the first run's writer events

            def write(records: list[Any] = records) -> None:
                for record in records:
                    writer.handle_record(record.data, (record.shard, record.sequence))
            used["writer"] = min(stage("writer", write, measured and profiled == "writer" and i == 0)
                                 for i in range(repeat))
            label = "measured" if measured else "warm-up"
            print(f"{label} window: CPU ms per window (x{endpoints} endpoints): " + ", ".join(
                f"{n} {1000 * s / endpoints:.2f}" for n, s in used.items())
                  + f"; per close (s): {sum(v for n, v in used.items() if not n.startswith('stream')):.2f}",
                  flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
