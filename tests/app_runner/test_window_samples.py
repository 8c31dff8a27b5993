"""Windows of a packed record read together give each window exactly what ``SampleStore.read`` gives it alone.

Endpoints on the local backend with the shapes the store meets: plain numbers, a column stored as integers in
one batch and floats in another, a column missing from one batch, text and nested JSON values, a column that is
numbers in one batch and text in another (no common schema: that endpoint is read alone), pandas' own types
(a file with pandas metadata), rows stored out of time order, windows without rows, two windows of one
endpoint sharing its files, and endpoints of one schema read in one scan.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelmon.apps.runner import window_samples
from modelmon.apps.runner.sample_files import SampleFiles
from modelmon.apps.runner.window_context import window_error_count
from modelmon.apps.runner.window_pack import WindowPack
from modelmon.apps.runner.window_samples import WindowSamples
from modelmon.core.paths import ProjectPaths
from modelmon.events import WindowEvent

PERIOD = 60_000
T0 = 1_700_000_000_000 // 3_600_000 * 3_600_000  # an hour's start: two windows share its files
PATHS = ProjectPaths("test")


def _frame(k: int, n: int, **columns: object) -> pd.DataFrame:
    times = T0 + k * PERIOD + np.arange(n) * (PERIOD // max(n, 1))
    return pd.DataFrame({"timestamp": times, "request_id": [f"r{k}-{i}" for i in range(n)], **columns})


@pytest.fixture
def stored(backend):
    """Endpoint id -> number of windows with rows; the samples stored on ``backend``."""
    rng = np.random.default_rng(5)
    samples = backend.samples
    samples.append("plain", pd.concat([_frame(0, 20, f0=rng.normal(size=20), f1=rng.normal(size=20)),
                                       _frame(1, 5, f0=rng.normal(size=5), f1=rng.normal(size=5))],
                                      ignore_index=True), batch_id="a")
    samples.append("promoted", _frame(0, 4, f0=np.arange(4), extra=1.5), batch_id="ints")
    samples.append("promoted", _frame(0, 3, f0=[0.5, 1.5, 2.5]), batch_id="floats")  # no 'extra' here
    samples.append("nested", _frame(0, 3, text=["a", "b", None], usage=[{"tokens": 3}, [1, 2], {"x": {"y": 1}}]),
                   batch_id="n")
    samples.append("conflict", _frame(0, 2, f0=[1.0, 2.0]), batch_id="numbers")
    samples.append("conflict", _frame(0, 3, f0=["a", "b", "c"]), batch_id="text")
    samples.append("later", _frame(1, 4, f0=rng.normal(size=4)), batch_id="l")  # nothing in window 0
    samples.append("nullable", _frame(0, 3, f0=pd.array([1, None, 3], dtype="Int64")), batch_id="pandas-typed")
    samples.append("unsorted", _frame(0, 4, f0=[1.0, 2.0, 3.0, 4.0]).iloc[::-1], batch_id="late-first")
    for i, n in enumerate((6, 0, 3)):  # one schema: read in one scan, converted once and cut per window
        rows = pd.concat([_frame(0, n, x=rng.normal(size=n), s=[None if j % 2 else f"t{j}" for j in range(n)]),
                          _frame(1, 2, x=[1.0, None], s=["a", "b"])], ignore_index=True)
        samples.append(f"twin{i}", rows, batch_id="t")
    return samples


def _keys(*endpoints: str, windows: tuple[int, ...] = (0,)) -> list[tuple[str, int, int]]:
    return [(e, T0 + k * PERIOD, T0 + (k + 1) * PERIOD) for e in endpoints for k in windows]


def test_each_window_gets_what_reading_it_alone_gives(stored):
    keys = _keys("plain", "promoted", "nested", "conflict", "later", "nullable", "unsorted", "twin0", "twin1",
                 "twin2", "never-seen", windows=(0, 1))
    together = WindowSamples(stored, keys)

    for key in keys:
        pd.testing.assert_frame_equal(together.read(key), stored.read(*key), check_exact=True)
    assert together.passes == 1  # all of them in the first window's pass
    assert together.read(keys[0]).equals(stored.read(*keys[0]))  # asked again: read again, same frame


def test_a_nested_column_reads_back_as_objects(stored):
    frame = WindowSamples(stored, _keys("nested")).read(_keys("nested")[0])
    assert frame["usage"].tolist() == [{"tokens": 3}, [1, 2], {"x": {"y": 1}}]
    assert frame["text"].tolist() == ["a", "b", None]


def test_read_ahead_is_bounded_by_bytes(stored, monkeypatch):
    monkeypatch.setattr(window_samples, "READ_AHEAD_BYTES", 1)  # every window is its own pass
    keys = _keys("plain", "promoted", "nested")
    together = WindowSamples(stored, keys)

    for key in keys:
        pd.testing.assert_frame_equal(together.read(key), stored.read(*key), check_exact=True)
    assert together.passes == 3


def test_another_store_is_read_window_by_window(stored):
    class Wrapped:  # not the local store: no batched pass
        def __init__(self) -> None:
            self.reads = 0

        def read(self, *key):
            self.reads += 1
            return stored.read(*key)

    wrapped = Wrapped()
    keys = _keys("plain", "nested")
    together = WindowSamples(wrapped, keys)  # type: ignore[arg-type]
    for key in keys:
        pd.testing.assert_frame_equal(together.read(key), stored.read(*key))
    assert wrapped.reads == 2 and together.passes == 0


def test_pack_error_counts_match_each_windows_own(backend):
    backend.tsdb.create_table(PATHS.errors_tsdb)
    backend.tsdb.write(PATHS.errors_tsdb, pd.DataFrame({
        "time": [T0 + 5, T0 + PERIOD - 1, T0 + PERIOD, T0 + 2 * PERIOD], "endpoint_id": ["a", "a", "a", "b"],
        "count": [2, 1, 7, 50]}), labels=["endpoint_id"])
    windows = [WindowEvent("test", e, "app", T0 + k * PERIOD, T0 + (k + 1) * PERIOD)
               for e in ("a", "b", "c") for k in (0, 1, 2)]
    pack = WindowPack(backend, PATHS, windows)

    assert [pack.error_count(w) for w in windows] == [window_error_count(backend, PATHS, w) for w in windows]
    assert [pack.error_count(w) for w in windows] == [3, 7, 0, 0, 0, 50, 0, 0, 0]


def test_no_error_table_counts_zero(backend):
    window = WindowEvent("test", "a", "app", T0, T0 + PERIOD)
    assert WindowPack(backend, PATHS, [window]).error_count(window) == 0


def test_each_footer_is_read_once_and_a_rewritten_file_again(backend):
    samples = backend.samples
    samples.append("e", _frame(0, 3, f0=[1.0, 2.0, 3.0]), batch_id="a")
    samples.append("e", _frame(1, 2, f0=[4.0, 5.0], added=[1.0, 2.0]), batch_id="b")  # a column window 0 lacks
    files = SampleFiles()
    keys = _keys("e", windows=(0, 1))

    for key in keys * 2:
        pd.testing.assert_frame_equal(WindowSamples(samples, [key], files).read(key), samples.read(*key))
    assert files.footers_read == 2
    first = WindowSamples(samples, [keys[0]], files)
    assert [Path(f).parent.name for f, _ in first._plan(samples, keys[0]).files] == [f"hour={_hour()}"]  # one file
    assert first.read(keys[0])["added"].isna().all()  # yet the column the hour's other file has is there

    samples.append("e", _frame(0, 4, f0=[1.0, 2.0, 3.0, 4.0]), batch_id="a")  # written again, under the same name
    again = WindowSamples(samples, [keys[0]], files).read(keys[0])
    pd.testing.assert_frame_equal(again, samples.read(*keys[0]))
    assert len(again) == 4 and files.footers_read == 3


def _hour() -> str:
    return pd.Timestamp(T0, unit="ms").strftime("%Y%m%d%H")
