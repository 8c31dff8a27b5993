"""The app function (``apps/handler.py``) through nuclio's test Platform, on the local backend."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import nuclio_sdk
import nuclio_sdk.test
import numpy as np
import pandas as pd
import pytest
import sample_apps

from apps import handler as app_function
from modelmon.apps.runner.failure import MAX_ERROR_CHARS, MAX_TRACEBACK_CHARS
from modelmon.apps.runner.window_context import build_context
from modelmon.apps.sdk.mlrun_stats import padded_stats
from modelmon.core.paths import ProjectPaths
from modelmon.endpoints.record import ModelEndpoint
from modelmon.events import DeadLetter, WindowEvent, WriterEvent
from modelmon.stats import feature_stats
from modelmon.testing import stream_records
from modelmon.writer.writer import ResultWriter

PERIOD = 600_000
T0 = 1_700_000_000_000 // PERIOD * PERIOD
PATHS = ProjectPaths("test")


@pytest.fixture
def app_env(monkeypatch, home):
    monkeypatch.setenv("MODELMON_PROJECT", "test")
    monkeypatch.setenv("MODELMON_APP_NAME", "rowcount")

    def configure(class_name: str, kwargs: dict | None = None) -> None:
        monkeypatch.setenv("MODELMON_APP_CLASS", f"sample_apps:{class_name}")
        monkeypatch.setenv("MODELMON_APP_KWARGS", json.dumps(kwargs or {}))

    return configure


def _endpoint(backend, rows_per_window: list[int]) -> pd.DataFrame:
    """Endpoint ``ep1`` with reference stats and ``rows_per_window[k]`` rows in window k."""
    rng = np.random.default_rng(7)
    reference = pd.DataFrame({"f0": rng.normal(size=500), "f1": rng.normal(size=500)})
    backend.kv.put(PATHS.endpoints_table, "ep1", ModelEndpoint(
        "ep1", name="model-1", feature_names=["f0", "f1"], feature_stats=feature_stats(reference),
        first_request_ms=T0, last_request_ms=T0 + len(rows_per_window) * PERIOD - 1,
    ).to_item())
    frames = []
    for k, n in enumerate(rows_per_window):
        frames.append(pd.DataFrame({
            "timestamp": T0 + k * PERIOD + np.arange(n) * 1000, "request_id": [f"r{k}-{i}" for i in range(n)],
            "latency_us": 100, "f0": float(k), "f1": 1.0, "p0": 0,
        }))
    samples = pd.concat(frames, ignore_index=True)
    backend.samples.append("ep1", samples, batch_id="b1")
    return samples


def _event(body) -> nuclio_sdk.Event:
    return nuclio_sdk.Event(body=body, shard_id=0, offset=1)


def _window(k: int, app: str = "rowcount") -> bytes:
    return WindowEvent("test", "ep1", app, T0 + k * PERIOD, T0 + (k + 1) * PERIOD, "model-1").to_body()


def _read(backend, path: str) -> list[bytes]:
    return [r.data for r in stream_records(backend.streams, path)]


def test_a_window_becomes_a_writer_event_with_the_apps_results(backend, app_env):
    app_env("RowCountApp", {"limit": 3})
    _endpoint(backend, [2, 7])
    backend.tsdb.create_table(PATHS.errors_tsdb)
    backend.tsdb.write(PATHS.errors_tsdb, pd.DataFrame({
        "time": [T0 + PERIOD + 5, T0 + PERIOD + 9, T0 + 2 * PERIOD], "endpoint_id": "ep1", "count": [2, 1, 50],
    }), labels=["endpoint_id"])
    platform = nuclio_sdk.test.Platform()

    totals = [platform.call_handler(app_function.handler, _event(_window(k))) for k in (0, 1)]

    assert totals == [{"windows": 1, "failed": 0, "dead_lettered": 0}] * 2
    out = [WriterEvent.from_body(b) for b in _read(backend, PATHS.writer_stream)]
    assert [(w.start_ms, w.end_ms, w.error) for w in out] == [
        (T0, T0 + PERIOD, None), (T0 + PERIOD, T0 + 2 * PERIOD, None)]
    first, second = out
    assert [(r.name, r.value, int(r.status)) for r in first.results] == [("rows", 2.0, 0)]
    assert [(r.name, r.value, int(r.status)) for r in second.results] == [("rows", 7.0, 2)]
    assert second.results[0].extra_data == {"reference_features": ["f0", "f1"], "mean_f0": 1.0}
    assert [(m.name, m.value) for m in first.metrics] == [("errors", 0.0)]
    assert [(m.name, m.value) for m in second.metrics] == [("errors", 3.0)]  # the window's errors only
    assert second.endpoint_name == "model-1"


def test_a_raising_app_records_the_failure_and_goes_on(backend, app_env):
    app_env("FailsOnSmallWindowsApp")
    _endpoint(backend, [2, 6])
    platform = nuclio_sdk.test.Platform()

    totals = [platform.call_handler(app_function.handler, _event(_window(k))) for k in (0, 1)]

    assert totals == [{"windows": 1, "failed": 1, "dead_lettered": 0}, {"windows": 1, "failed": 0, "dead_lettered": 0}]
    failed, ok = (WriterEvent.from_body(b) for b in _read(backend, PATHS.writer_stream))
    assert failed.error == "RuntimeError: only 2 rows" and failed.results == () and failed.start_ms == T0
    assert failed.error_type == "RuntimeError"
    assert failed.location == f"{sample_apps.__file__}:{_line_of('raise RuntimeError')}"
    assert failed.traceback.startswith("Traceback (most recent call last):")
    assert failed.traceback.endswith("RuntimeError: only 2 rows\n")
    assert ok.error is None and [(m.name, m.value) for m in ok.metrics] == [("rows", 6.0)]
    assert (ok.error_type, ok.location, ok.traceback) == (None, None, None)


def _line_of(code: str) -> int:
    """The line of ``sample_apps.py`` holding ``code`` (once)."""
    [line] = [n for n, text in enumerate(Path(sample_apps.__file__).read_text().splitlines(), 1) if code in text]
    return line


def test_a_failure_inside_pandas_points_at_the_apps_line_and_is_logged_with_its_traceback(
        backend, app_env, caplog):
    app_env("MissingColumnApp")
    _endpoint(backend, [3])
    platform = nuclio_sdk.test.Platform()

    with caplog.at_level(logging.WARNING, logger="modelmon.apps.runner.runner"):
        platform.call_handler(app_function.handler, _event(_window(0)))

    [failed] = [WriterEvent.from_body(b) for b in _read(backend, PATHS.writer_stream)]
    assert failed.error == "KeyError: 'no_such_column'" and failed.error_type == "KeyError"
    # the innermost frame is pandas' own; the location is the app's line that asked for the column
    assert failed.location == f"{sample_apps.__file__}:{_line_of('no_such_column')}"
    innermost = [line for line in failed.traceback.splitlines() if line.lstrip().startswith('File "')][-1]
    assert f"{os.sep}pandas{os.sep}" in innermost
    assert f'File "{sample_apps.__file__}", line {_line_of("no_such_column")}, in do_tracking' in failed.traceback
    [record] = [r for r in caplog.records if "rowcount failed" in r.getMessage()]
    assert record.exc_info is not None and record.exc_info[0] is KeyError
    assert failed.location in record.getMessage()
    # the writer stores the failure with its details, as status, CLI and SDK read it
    ResultWriter(backend, PATHS).write(failed)
    item = backend.kv.get(PATHS.app_failures_table, f"ep1.rowcount.{T0}")
    assert {k: item[k] for k in ("error", "error_type", "location", "traceback")} == {
        "error": failed.error, "error_type": "KeyError", "location": failed.location,
        "traceback": failed.traceback}


def test_a_huge_traceback_is_cut_so_the_failure_still_fits_a_stream_record(backend, app_env):
    app_env("HugeErrorApp")
    _endpoint(backend, [3])
    platform = nuclio_sdk.test.Platform()

    assert platform.call_handler(app_function.handler, _event(_window(0))) == {
        "windows": 1, "failed": 1, "dead_lettered": 0}

    [body] = _read(backend, PATHS.writer_stream)
    failed = WriterEvent.from_body(body)
    assert len(body) < 40_000  # a 3 MB message, 200 frames deep
    assert len(failed.error) == MAX_ERROR_CHARS and failed.error.startswith("ValueError: yyy")
    assert len(failed.traceback) <= MAX_TRACEBACK_CHARS
    assert failed.traceback.startswith("Traceback (most recent call last):")
    assert "characters of the traceback cut" in failed.traceback and failed.traceback.endswith("yyy\n")
    line = _line_of('raise ValueError("y"')
    assert failed.location == f"{sample_apps.__file__}:{line}"


@pytest.mark.parametrize(("body", "reason"), [
    (b"not json", "not valid JSON"),
    (b'{"kind": "window", "schema": 1, "project": "test"}', "missing 'endpoint_id'"),
    (b'{"kind": "writer", "schema": 1}', "expected a 'window' message"),
    (None, "window for application 'other' reached 'rowcount'"),
])
def test_unreadable_window_events_go_to_the_dead_letter_stream(backend, app_env, body, reason):
    app_env("RowCountApp")
    _endpoint(backend, [1])
    body = _window(0, app="other") if body is None else body
    platform = nuclio_sdk.test.Platform()

    assert platform.call_handler(app_function.handler, _event(body)) == {
        "windows": 0, "failed": 0, "dead_lettered": 1}
    [letter] = [DeadLetter.from_body(b) for b in _read(backend, PATHS.dead_letter_stream)]
    assert reason in letter.reason
    assert letter.payload == body and letter.source == PATHS.app_stream("rowcount")
    assert (letter.shard, letter.sequence, letter.function) == (0, 1, "rowcount")
    assert _read(backend, PATHS.writer_stream) == []


def test_an_unknown_endpoint_is_a_recorded_failure(backend, app_env):
    app_env("RowCountApp")
    platform = nuclio_sdk.test.Platform()
    platform.call_handler(app_function.handler, _event(_window(0)))
    [out] = [WriterEvent.from_body(b) for b in _read(backend, PATHS.writer_stream)]
    assert "'ep1' is not in the endpoints table" in out.error


def test_the_context_endpoint_dict_is_the_endpoint_record_independent_of_feature_stats(backend):
    _endpoint(backend, [1])
    item = backend.kv.get(PATHS.endpoints_table, "ep1")
    window = WindowEvent.from_body(_window(0))
    context = build_context(window, item, backend, PATHS)

    assert context.model_endpoint == ModelEndpoint.from_item(dict(item)).to_dict()
    assert list(context.model_endpoint) == list(ModelEndpoint.from_item(dict(item)).to_dict())
    assert padded_stats(context.model_endpoint["feature_stats"]) == context.feature_stats  # MLRun pads them
    context.model_endpoint["feature_stats"]["f0"]["hist"].append("changed by the app")
    assert context.feature_stats == padded_stats(ModelEndpoint.from_item(dict(item)).feature_stats)


def test_results_too_large_for_a_stream_record_are_dead_lettered_once_not_retried(backend, app_env):
    app_env("HugeExtraDataApp")
    _endpoint(backend, [3])
    platform = nuclio_sdk.test.Platform()

    totals = platform.call_handler(app_function.handler, _event(_window(0, app="rowcount")))

    assert totals == {"windows": 0, "failed": 0, "dead_lettered": 1}
    assert _read(backend, PATHS.writer_stream) == []
    [letter] = [DeadLetter.from_body(b) for b in _read(backend, PATHS.dead_letter_stream)]
    assert "is over the limit of 1,048,576 bytes per stream record" in letter.reason
    assert letter.source == PATHS.writer_stream and letter.truncated and letter.payload_size > 2**21
