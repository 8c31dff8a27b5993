"""CPU an app function spends reading one window's samples, by how many files the endpoint's hour already holds
(not a benchmark).

``python -m bench.profile_window_reads [endpoints]`` stores, for each endpoint, one tracked batch of ten rows per
one-minute window of an hour, up to window ``k``, then reads every endpoint's window ``k`` the way an app
function reads a packed record's windows (:class:`~modelmon.apps.runner.window_samples.WindowSamples`, with the
footers of the earlier files already known, as a running function knows them). A read unifies the schema over
every file of the hour, so its cost grows through the hour: printed for ``k`` = 3, 30 and 59 (least of three).
"""

from __future__ import annotations

import sys
import tempfile
import time

import numpy as np
import pandas as pd

from modelmon.apps.runner.sample_files import SampleFiles
from modelmon.apps.runner.window_samples import WindowSamples
from modelmon.backends.local import open_local_backend

HOUR_MS, PERIOD_MS = 3_600_000, 60_000
T0 = 1_796_140_800_000 // HOUR_MS * HOUR_MS
ROWS = 10


def ms_per_window(files_in_hour: int, endpoints: int) -> float:
    """CPU ms per window to read window ``files_in_hour - 1`` of each endpoint, the hour's earlier files known."""
    with tempfile.TemporaryDirectory() as home:
        backend = open_local_backend(home)
        rng = np.random.default_rng(0)
        for e in range(endpoints):
            for w in range(files_in_hour):
                backend.samples.append(f"ep{e}", pd.DataFrame({
                    "timestamp": T0 + w * PERIOD_MS + np.arange(ROWS) * 100,
                    "request_id": [f"r{w}-{i}" for i in range(ROWS)],
                    "f0": rng.normal(size=ROWS), "f1": rng.normal(size=ROWS)}), batch_id=f"b{w}")
        files = SampleFiles()
        last = files_in_hour - 1
        earlier = [(f"ep{e}", T0 + (last - 1) * PERIOD_MS, T0 + last * PERIOD_MS) for e in range(endpoints)]
        WindowSamples(backend.samples, earlier, files).read(earlier[0])  # the footers a running function knows
        keys = [(f"ep{e}", T0 + last * PERIOD_MS, T0 + files_in_hour * PERIOD_MS) for e in range(endpoints)]
        began = time.process_time()
        samples = WindowSamples(backend.samples, keys, files)
        rows = sum(len(samples.read(key)) for key in keys)
        used = time.process_time() - began
        backend.close()
    assert rows == ROWS * endpoints, rows
    return 1000 * used / endpoints


def main(argv: list[str]) -> None:
    endpoints = int(argv[0]) if argv else 200
    for files_in_hour in (3, 30, 59):
        best = min(ms_per_window(files_in_hour, endpoints) for _ in range(3))
        print(f"{files_in_hour:2d} files in the endpoint's hour: {best:.3f} CPU ms per window read", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
