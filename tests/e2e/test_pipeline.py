"""The whole pipeline through the local runtime: stream, controller, writer and three apps, each in its
own process, fed with the demo's traffic, with malformed events mixed in and the writer and an app
SIGKILLed mid-run.

The expected results are computed independently, in this process: each app evaluated on the rows the
generator put in each window (:meth:`TrafficGenerator.window_frame`). Matching them value for value means
no row was lost or stored twice and no window analysed on partial data, in spite of the kills.
"""

from __future__ import annotations

import math
import os
import signal
import time
from pathlib import Path

import orjson
import pytest

from modelmon.app_runtime.loader import load_app
from modelmon.backends import OutRecord
from modelmon.demo import DemoConfig, DemoSession
from modelmon.queries import app_failures, dead_letters, list_endpoints
from modelmon.registration import get_model_endpoint

pytestmark = pytest.mark.slow

BUNDLE = Path(__file__).resolve().parents[2]  # the repository checkout is the bundle
WINDOWS, ROWS = 6, 400
STREAM_FUNCTION = "model-monitoring-stream"


def _malformed(session: DemoSession) -> list[tuple[str, OutRecord]]:
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
        ("values must be numbers or text, got dict", variant(first_input({"a": 1}))),
        ("'when' must be a timestamp", variant(lambda _, entry: entry.__setitem__(when_at, [1, 2]))),
        ("contains a non-finite number", variant(first_input("__LITERAL__"), b"NaN")),
        ("contains a non-finite number", variant(first_input("__LITERAL__"), b"-Infinity")),
        ("expected an object", b"[1, 2, 3]"),
        ("has no model name", orjson.dumps({"hello": "world"})),
        ("expects 30 and 1", variant(lambda request, _: request.update(inputs=[[1.0, 2.0]]))),
    ]
    return [(reason, OutRecord(data, partition_key=key)) for reason, data in cases]


def _kill(session: DemoSession, function: str) -> int:
    pid = session.runtime.status()[function].pid
    os.kill(pid, signal.SIGKILL)
    return pid


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One pipeline run: half the traffic and the malformed records, kills, the other half, all windows done."""
    home = tmp_path_factory.mktemp("e2e") / "home"
    config = DemoConfig(home=home, windows=WINDOWS, rows_per_window=ROWS, bundle_dir=BUNDLE)
    with DemoSession(config) as session:
        malformed = _malformed(session)
        half = WINDOWS // 2
        session.send_traffic(range(half))
        session.put([record for _, record in malformed])
        deadline = time.monotonic() + 60
        while session.window_progress().done == 0:  # kill once results flow: the writer and apps are busy
            assert time.monotonic() < deadline, "no window analysed within 60s"
            time.sleep(0.05)
        killed = {f: _kill(session, f) for f in (session.bundle.functions["writer"], session.bundle.apps[0].function)}
        session.send_traffic(range(half, WINDOWS))
        progress = session.wait_for_windows(timeout_s=90)
        yield session, malformed, killed, progress


def test_killed_functions_were_restarted(run):
    session, _, killed, _ = run
    status = session.runtime.status()
    for function, pid in killed.items():
        assert status[function].restarts >= 1 and status[function].pid != pid and status[function].alive


def test_every_closed_window_has_exactly_the_expected_results(run):
    session, _, _, progress = run
    assert (progress.done, progress.expected, progress.failed, progress.unexpected) == (
        3 * len(session.bundle.apps) * WINDOWS, 3 * len(session.bundle.apps) * WINDOWS, 0, 0)
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


def test_samples_hold_each_request_once(run):
    session, _, _, _ = run
    for scenario in session.scenarios:
        endpoint_id = session.endpoint_ids[scenario.key]
        for window, start in enumerate(session.generator.plan.window_starts):
            stored = session.backend.samples.read(endpoint_id, start, start + 60_000)
            expected = session.generator.window_frame(scenario, window)
            assert sorted(stored["request_id"]) == sorted(expected["request_id"])
    counts = list_endpoints(session.backend, session.config.project).set_index("name")["request_count"]
    assert counts.to_dict() == {s.name: WINDOWS * ROWS for s in session.scenarios}


def test_undrifted_endpoint_stays_no_detection_and_shifted_reaches_detected(run):
    session, _, _, _ = run
    history = session.history()
    by_key = {key: history[history["endpoint_id"] == eid] for key, eid in session.endpoint_ids.items()}
    assert by_key["A"]["status"].max() == 0  # no_detection (and irrelevant for results without an SLO)
    drift = by_key["C"][by_key["C"]["app_name"] == "histogram-data-drift"]
    share = drift[drift["result_name"] == "drifted_features_share"].sort_values("start_ms")["status"].tolist()
    assert share == [0] * (WINDOWS // 2) + [2] * (WINDOWS - WINDOWS // 2)  # detected from the shift on
    endpoints = list_endpoints(session.backend, session.config.project).set_index("name")["drift_status_name"]
    assert endpoints["cancer-stable"] == "no_detection" and endpoints["cancer-shift"] == "detected"


def test_malformed_events_are_dead_lettered_with_reasons(run):
    session, malformed, _, _ = run
    letters = dead_letters(session.backend, session.config.project)
    from_stream = letters[letters["function"] == STREAM_FUNCTION]
    assert len(from_stream) == len(malformed)
    reasons = from_stream["reason"].tolist()
    for reason in {r for r, _ in malformed}:
        expected = sum(r == reason for r, _ in malformed)
        assert sum(reason in got for got in reasons) == expected, (reason, reasons)
    assert (letters["function"] != STREAM_FUNCTION).sum() == 0  # nothing else was rejected
    assert from_stream["payload"].str.len().min() > 0  # the rejected bytes are kept for replay
