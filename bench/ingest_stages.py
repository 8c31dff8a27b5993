"""Where the stream function's time per record goes: CPU time per stage, for ``python -m bench ingest``.

The ingestor's ``process`` is called directly on this thread (no storey hand-off) for the benchmark's
records, each at a fresh stream position, with the stages' functions wrapped by a timer of this thread's
CPU time (``time.thread_time_ns``: another process on the machine stretches wall time far more than CPU
time). A stage's figure is its own time, without the wrapped stages it calls. The decode floor is
measured the same way, so the ratio of the two is the benchmark's ratio with the machine's load mostly
taken out. The wrappers are removed afterwards; this runs after the benchmark's measured runs.
"""

from __future__ import annotations

import gc
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import orjson

#: (label, module or object path, attribute): the stages timed, in the order a record meets them.
_MODULE_STAGES = [
    ("decode (orjson.loads)", "modelmon.stream.parsing", "_decode"),
    ("boolean scan of the body", "modelmon.stream.parsing", "_may_hold_booleans"),
    ("fast path: columns and checks", "modelmon.stream.parsing", "_fast_path"),
    ("fast path: numbers packed as doubles", "modelmon.stream.parsing", "_numeric_rows"),
    ("event times", "modelmon.stream.parsing", "when_to_ms"),
    ("rows frame (pandas)", "modelmon.stream.ingestor", "build_rows"),
    ("free the decoded body", "modelmon.stream.parsing:ParsedRecord", "release"),
    ("samples: arrow table", "modelmon.backends.sample_layout", "sample_table"),
    ("samples: parquet encode", "modelmon.backends.local.samples", "parquet_bytes"),
    ("samples: file write and rename", "modelmon.backends.local.samples", "write_atomically"),
    ("samples: hours, stale copies", "modelmon.backends.sample_layout:PartitionedSampleStore", "append"),
    ("per-minute frame", "modelmon.stream.ingestor", "predictions_frame"),
]
#: Stages that are methods of the ingestor's collaborators: (label, attribute path from the ingestor).
_INSTANCE_STAGES = [
    ("TSDB write (SQLite)", "backend.tsdb", "write"),
    ("endpoint cache", "endpoints", "get_or_create"),
    ("endpoint cache", "endpoints", "already_applied"),
    ("endpoint update (SQLite)", "endpoints", "apply"),
    ("live figures", "live", "observe"),
    ("dead letters", "", "_dead_letter"),
    ("the rest (glue, checks, totals)", "", "process"),
]


class _Timer:
    """Own CPU time per label: a wrapped call's time less that of the wrapped calls inside it."""

    def __init__(self) -> None:
        self.own: Counter[str] = Counter()
        self._inner: list[int] = []

    def wrap(self, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time_ns()
            self._inner.append(0)
            try:
                return fn(*args, **kwargs)
            finally:
                spent = time.thread_time_ns() - started
                self.own[label] += spent - self._inner.pop()
                if self._inner:
                    self._inner[-1] += spent

        return timed


@contextmanager
def _patched(target: Any, name: str, value: Any) -> Iterator[None]:
    original = getattr(target, name)
    setattr(target, name, value)
    try:
        yield
    finally:
        setattr(target, name, original)


def _resolve(path: str) -> Any:
    import importlib

    module, _, attribute = path.partition(":")
    target = importlib.import_module(module)
    return getattr(target, attribute) if attribute else target


def stage_profile(records: list[bytes], home: str, passes: int = 3) -> dict[str, Any]:
    """CPU ms per record per stage (the best pass), the total, and the decode floor measured alike."""
    os.environ.update({"MODELMON_HOME": home, "MODELMON_BACKEND": "local"})
    from functions.stream.handler import StreamFunction
    from modelmon.backends import make_backend
    from modelmon.core.config import Settings
    from modelmon.stream import RawRecord

    settings = Settings.from_env()
    function = StreamFunction(settings, make_backend(settings))
    ingestor = function.flow.ingestor
    timer = _Timer()
    best: tuple[float, dict[str, int]] | None = None
    try:
        with ExitStack() as stack:
            for label, path, name in _MODULE_STAGES:
                target = _resolve(path)
                stack.enter_context(_patched(target, name, timer.wrap(label, getattr(target, name))))
            for label, path, name in _INSTANCE_STAGES:
                target = ingestor
                for part in filter(None, path.split(".")):
                    target = getattr(target, part)
                stack.enter_context(_patched(target, name, timer.wrap(label, getattr(target, name))))
            ingestor.process(RawRecord(records[0], 1, 1))  # first sight of the endpoint, as the benchmark's warm call
            for shard in range(2, 2 + passes):
                timer.own.clear()
                started = time.thread_time_ns()
                for k, body in enumerate(records):
                    ingestor.process(RawRecord(body, shard, k + 1))
                total = (time.thread_time_ns() - started) / len(records) / 1e6
                if best is None or total < best[0]:
                    best = (total, dict(timer.own))
    finally:
        function.close()
    assert best is not None
    floors = []
    for _ in range(passes):
        gc.disable()
        try:
            started = time.thread_time_ns()
            for body in records:
                orjson.loads(body)
            floors.append((time.thread_time_ns() - started) / len(records) / 1e6)
        finally:
            gc.enable()
    total, own = best
    stages = {label: round(spent / len(records) / 1e6, 3) for label, spent in own.items()}
    return {"cpu_ms_per_record": round(total, 3), "decode_floor_cpu_ms_per_record": round(min(floors), 3),
            "stages_cpu_ms_per_record": dict(sorted(stages.items(), key=lambda item: -item[1]))}


def print_profile(profile: dict[str, Any]) -> None:
    total, floor = profile["cpu_ms_per_record"], profile["decode_floor_cpu_ms_per_record"]
    print(f"per-stage CPU time of one record (this thread, no storey hand-off; best pass): {total:.2f} ms, "
          f"decode floor {floor:.2f} ms (ratio {floor / total:.2f})")
    for label, spent in profile["stages_cpu_ms_per_record"].items():
        print(f"  {label:40s} {spent:6.3f} ms  {100 * spent / total:4.1f}%")
