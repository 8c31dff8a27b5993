"""The runner's reference rows: one object read per endpoint and reference, bounded in memory, and a frame
an app may add columns to without changing what the next window gets."""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelmon.apps.runner.reference_cache import ReferenceRowsCache
from modelmon.backends.memory import InMemoryObjectStore
from modelmon.core.paths import ProjectPaths
from modelmon.endpoints.reference_rows import stats_digest, write_reference_rows
from modelmon.testing import ManualClock

PATHS = ProjectPaths("cache")


def _store(objects: InMemoryObjectStore, endpoint_id: str, rows: int, seed: int = 0) -> str:
    frame = pd.DataFrame(np.random.default_rng(seed).normal(size=(rows, 4))).add_prefix("f")
    stats = {"f0": {"mean": float(frame["f0"].mean())}}
    write_reference_rows(objects, PATHS, endpoint_id, frame, stats)
    return stats_digest(stats)


def test_rows_are_read_once_per_endpoint_and_reference():
    objects = InMemoryObjectStore()
    first = _store(objects, "ep1", 1000)
    cache = ReferenceRowsCache(objects, PATHS, clock=ManualClock())
    rows = cache.rows("ep1", first)
    assert rows is not None and rows.shape == (1000, 4) and cache.reads == 1
    rows["mine"] = 1.0  # an app's own column stays in its copy
    again = cache.rows("ep1", first)
    assert again is not None and list(again.columns) == ["f0", "f1", "f2", "f3"] and cache.reads == 1
    second = _store(objects, "ep1", 500, seed=1)  # registered again: the record's digest changes
    newer = cache.rows("ep1", second)
    assert newer is not None and len(newer) == 500 and cache.reads == 2
    assert cache.nbytes == 500 * 4 * 8  # the replaced frame no longer counts
    assert cache.rows("ep1", first) is None and cache.reads == 3  # the record's stats and the rows disagree
    assert cache.nbytes == 0


def test_memory_is_bounded_least_recently_used_first():
    objects = InMemoryObjectStore()
    digests = {e: _store(objects, e, 1000, seed=i) for i, e in enumerate(["a", "b", "c"])}
    cache = ReferenceRowsCache(objects, PATHS, clock=ManualClock(), max_bytes=2 * 1000 * 4 * 8)  # two frames
    for endpoint in ("a", "b", "a", "c"):  # c pushes out b, the least recently used
        cache.rows(endpoint, digests[endpoint])
    assert cache.reads == 3 and cache.nbytes == 2 * 32_000
    cache.rows("a", digests["a"])
    assert cache.reads == 3
    cache.rows("b", digests["b"])
    assert cache.reads == 4
