"""What the end-to-end pipeline tests share: driving a demo session, the malformed records, and the checks.

``tests/e2e/test_pipeline.py`` runs the pipeline on the local backend, ``test_pipeline_v3io.py`` and
``test_outages_v3io.py`` on the v3io backend against the protocol test servers (:func:`demo_config`,
:func:`v3io_storage`, :func:`wait_through_faults`); all drive it with :func:`drive` and check it with the same
assertions. :func:`comparable_results` puts a run's results in a form that does not depend on when the run
happened (window index instead of start time), so two runs of the same seeded traffic can be compared.
"""

from __future__ import annotations

import math
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pandas as pd
from v3io_server.stack import ACCESS_KEY

from modelmon.apps.runner.loader import load_app
from modelmon.backends import OutRecord
from modelmon.core.config import Settings
from modelmon.core.errors import BackendUnavailable
from modelmon.demo import DemoConfig
from modelmon.demo.session import DemoSession, WindowProgress
from modelmon.endpoints.registration import get_model_endpoint
from modelmon.queries import app_failures, dead_letters, latest_results, list_endpoints

STREAM_FUNCTION = "model-monitoring-stream"
T = TypeVar("T")
BUNDLE = Path(__file__).resolve().parents[2]  # the repository checkout is the bundle
WINDOWS, ROWS = 6, 400  # the v3io runs' traffic: windows per endpoint, requests per window


def demo_config(tmp_path_factory: Any, name: str) -> DemoConfig:
    """The v3io runs' demo: :data:`WINDOWS` windows of :data:`ROWS` requests, home in a fresh ``name`` folder."""
    return DemoConfig(home=tmp_path_factory.mktemp(name) / "home", windows=WINDOWS, rows_per_window=ROWS,
                      bundle_dir=BUNDLE)


def v3io_storage(web: Any, frames: Any) -> Settings:
    """Settings of the v3io backend on the test servers ``web`` and ``frames``."""
    return Settings(backend="v3io", v3io_api=web.url, v3io_framesd=frames.address, v3io_access_key=ACCESS_KEY)


def local_reference(tmp_path_factory: Any) -> dict[str, pd.DataFrame]:
    """The v3io runs' traffic on the local backend: what every v3io run must store (:func:`comparable_results`)."""
    with DemoSession(demo_config(tmp_path_factory, "local")) as session:
        session.send_traffic()
        session.wait_for_windows(timeout_s=60)
        return comparable_results(session)


def wait_through_faults(session: DemoSession, timeout_s: float) -> WindowProgress:
    """``wait_for_windows`` for a test process that is itself a client of the faulty servers."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            state = session.window_progress()
        except BackendUnavailable:
            state = None
        if state is not None and state.complete:
            return state
        assert time.monotonic() < deadline, f"windows not analysed in {timeout_s:g}s: {state}"
        time.sleep(0.2)


def malformed_records(session: DemoSession) -> list[tuple[str, OutRecord]]:
    """One bad tracking record per kind, each naming endpoint A's model, with the reason expected for it."""
    stable = session.scenarios[0]
    good = orjson.loads(session.generator.records(stable, 0)[0].data)  # a valid record to break
    good["values"] = good["values"][:1]
    when_at, request_at = good["headers"].index("when"), good["headers"].index("request")

    def variant(change, literal: bytes | None = None) -> bytes:
        body = orjson.loads(orjson.dumps(good))
        change(body["values"][0][request_at], body["values"][0])
        data = orjson.dumps(body)
        return data.replace(b'"__LITERAL__"', literal) if literal else data

    def first_input(value):
        return lambda request, _: request["inputs"][0].__setitem__(0, value)

    key = session.endpoint_ids[stable.key]
    cases = [
        ("body is not valid JSON", b"{'model': not json"),
        ("request.inputs must be a non-empty list", variant(lambda request, _: request.pop("inputs"))),
        ("is numeric on endpoint", variant(first_input({"a": 1}))),
        ("'when' must be a timestamp", variant(lambda _, entry: entry.__setitem__(when_at, [1, 2]))),
        ("contains a non-finite number", variant(first_input("__LITERAL__"), b"NaN")),
        ("contains a non-finite number", variant(first_input("__LITERAL__"), b"-Infinity")),
        ("expected an object", b"[1, 2, 3]"),
        ("has no model name", orjson.dumps({"hello": "world"})),
        ("expects 30 and 1", variant(lambda request, _: request.update(inputs=[[1.0, 2.0]]))),
    ]
    return [(reason, OutRecord(data, partition_key=key)) for reason, data in cases]


def kill(session: DemoSession, function: str) -> int:
    """SIGKILL ``function``'s process; its pid."""
    pid = session.runtime.status()[function].pid
    os.kill(pid, signal.SIGKILL)
    return pid


def drive(session: DemoSession, windows: int, mid_run: Callable[[DemoSession], T], malformed: list[OutRecord] = (),
          timeout_s: float = 90) -> tuple[T, WindowProgress]:
    """Half the traffic and the ``malformed`` records; once results flow ``mid_run(session)``; the other half;
    then wait until every window is analysed. ``mid_run``'s value and the final progress."""
    half = windows // 2
    session.send_traffic(range(half))
    if malformed:
        session.put(list(malformed))
    deadline = time.monotonic() + 60
    while session.window_progress().done == 0:  # act once results flow: the writer and apps are busy
        assert time.monotonic() < deadline, "no window analysed within 60s"
        time.sleep(0.05)
    during = mid_run(session)
    session.send_traffic(range(half, windows))
    return during, session.wait_for_windows(timeout_s=timeout_s)


def assert_every_window_has_exactly_the_expected_results(session: DemoSession, progress: WindowProgress) -> None:
    """Every (endpoint, app, window) has the results of the app evaluated here on that window's generated rows."""
    windows = session.config.windows
    assert (progress.done, progress.expected, progress.failed, progress.unexpected) == (
        3 * len(session.bundle.apps) * windows, 3 * len(session.bundle.apps) * windows, 0, 0)
    history = session.history()
    assert not history.duplicated(["endpoint_id", "app_name", "result_name", "start_ms"]).any()
    assert app_failures(session.backend, session.config.project).empty
    for scenario in session.scenarios:
        endpoint_id = session.endpoint_ids[scenario.key]
        endpoint = get_model_endpoint(session.backend, session.config.project, endpoint_id)
        for app in session.bundle.apps:
            instance = load_app(app.class_path, {})
            for window, start in enumerate(session.generator.plan.window_starts):
                expected = instance.evaluate(
                    session.generator.window_frame(scenario, window), feature_stats=endpoint.feature_stats,
                    start=start, end=start + 60_000, feature_names=endpoint.feature_names,
                    label_names=endpoint.label_names, error_count=0, model_endpoint=endpoint.to_dict(),
                )
                expected = expected[expected["type"] == "result"]
                got = history[(history["endpoint_id"] == endpoint_id) & (history["app_name"] == app.name)
                              & (history["start_ms"] == start)].set_index("result_name")
                assert sorted(got.index) == sorted(expected["name"]), (scenario.key, app.name, window)
                for name, value, status in expected[["name", "value", "status"]].itertuples(index=False):
                    assert math.isclose(got.loc[name, "value"], value, rel_tol=1e-9, abs_tol=1e-12), (
                        scenario.key, app.name, window, name)
                    assert got.loc[name, "status"] == int(status), (scenario.key, app.name, window, name)


def assert_samples_hold_each_request_once(session: DemoSession) -> None:
    windows, rows = session.config.windows, session.config.rows_per_window
    for scenario in session.scenarios:
        endpoint_id = session.endpoint_ids[scenario.key]
        for window, start in enumerate(session.generator.plan.window_starts):
            stored = session.backend.samples.read(endpoint_id, start, start + 60_000)
            expected = session.generator.window_frame(scenario, window)
            assert sorted(stored["request_id"]) == sorted(expected["request_id"])
    counts = list_endpoints(session.backend, session.config.project).set_index("name")["request_count"]
    assert counts.to_dict() == {s.name: windows * rows for s in session.scenarios}


def assert_malformed_dead_lettered(session: DemoSession, malformed: list[tuple[str, OutRecord]]) -> None:
    """Every malformed record is in the dead-letter stream with its reason, and nothing else is there."""
    letters = dead_letters(session.backend, session.config.project)
    from_stream = letters[letters["function"] == STREAM_FUNCTION]
    assert len(from_stream) == len(malformed)
    reasons = from_stream["reason"].tolist()
    for reason in {r for r, _ in malformed}:
        expected = sum(r == reason for r, _ in malformed)
        assert sum(reason in got for got in reasons) == expected, (reason, reasons)
    assert (letters["function"] != STREAM_FUNCTION).sum() == 0  # nothing else was rejected
    assert from_stream["payload"].str.len().min() > 0  # the rejected bytes are kept for replay


# ------------------------------------------------------------------------------ comparing two runs

def _window_index(session: DemoSession, frame: pd.DataFrame) -> pd.Series:
    starts = {start: i for i, start in enumerate(session.generator.plan.window_starts)}
    return frame["start_ms"].astype(int).map(starts)


def _scenario_key(session: DemoSession, frame: pd.DataFrame) -> pd.Series:
    return frame["endpoint_id"].map({eid: key for key, eid in session.endpoint_ids.items()})


def comparable_results(session: DemoSession) -> dict[str, pd.DataFrame]:
    """A run's stored outcome without its wall-clock times: ``history`` and ``latest`` results indexed by
    (scenario key, app, window index, result name), and ``endpoints`` by name."""
    history = session.history()
    history = history.assign(key=_scenario_key(session, history), window=_window_index(session, history))
    latest = latest_results(session.backend, session.config.project)
    latest = latest.assign(key=_scenario_key(session, latest), window=_window_index(session, latest))
    endpoints = list_endpoints(session.backend, session.config.project).set_index("name")
    index = ["key", "app_name", "window", "result_name"]
    return {
        "history": history.set_index(index)[["value", "status", "kind"]].sort_index(),
        "latest": latest.set_index(index)[["value", "status", "kind", "extra_data"]].sort_index(),
        "endpoints": endpoints[["endpoint_id", "request_count", "error_count", "drift_status",
                                "feature_names"]].sort_index(),
    }


def assert_same_results(got: dict[str, pd.DataFrame], expected: dict[str, pd.DataFrame]) -> None:
    """Same windows, result names, kinds and statuses; values (and extra data) equal within float tolerance."""
    for name in ("history", "latest"):
        a, b = got[name], expected[name]
        assert not a.index.duplicated().any(), name
        assert a.index.tolist() == b.index.tolist(), name
        assert a["status"].tolist() == b["status"].tolist(), name
        assert a["kind"].tolist() == b["kind"].tolist(), name
        for where, x, y in zip(a.index, a["value"], b["value"], strict=True):
            assert math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12), (name, where, x, y)
    for where, x, y in zip(got["latest"].index, got["latest"]["extra_data"], expected["latest"]["extra_data"],
                           strict=True):
        assert _close(x, y), ("extra_data", where, x, y)
    a, b = got["endpoints"], expected["endpoints"]
    assert a.index.tolist() == b.index.tolist()
    assert a.to_dict("index") == b.to_dict("index")


def _close(x: Any, y: Any) -> bool:
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(_close(x[k], y[k]) for k in x)
    if isinstance(x, list) and isinstance(y, list):
        return len(x) == len(y) and all(_close(a, b) for a, b in zip(x, y, strict=True))
    if isinstance(x, float | int) and isinstance(y, float | int) and not isinstance(x, bool):
        return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12) or (math.isnan(x) and math.isnan(y))
    return x == y
