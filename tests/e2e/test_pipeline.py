"""The whole pipeline through the local runtime: stream, controller, writer and three apps, each in its
own process, fed with the demo's traffic, with malformed events mixed in and the writer and an app
SIGKILLed mid-run.

The expected results are computed independently, in this process: each app evaluated on the rows the
generator put in each window (:meth:`TrafficGenerator.window_frame`). Matching them value for value means
no row was lost or stored twice and no window analysed on partial data, in spite of the kills.
The checks live in :mod:`pipeline_checks`, shared with the same run on the v3io backend.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pipeline_checks import (
    assert_every_window_has_exactly_the_expected_results,
    assert_malformed_dead_lettered,
    assert_samples_hold_each_request_once,
    drive,
    kill,
    malformed_records,
)

from modelmon.demo import DemoConfig
from modelmon.demo.session import DEMO_ALERT, DemoSession
from modelmon.queries import list_endpoints

pytestmark = pytest.mark.slow

BUNDLE = Path(__file__).resolve().parents[2]  # the repository checkout is the bundle
WINDOWS, ROWS = 6, 400


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One pipeline run: half the traffic and the malformed records, kills, the other half, all windows done."""
    home = tmp_path_factory.mktemp("e2e") / "home"
    config = DemoConfig(home=home, windows=WINDOWS, rows_per_window=ROWS, bundle_dir=BUNDLE)
    with DemoSession(config) as session:
        malformed = malformed_records(session)
        victims = (session.bundle.functions["writer"], session.bundle.apps[0].function)
        killed, progress = drive(session, WINDOWS, lambda s: {f: kill(s, f) for f in victims},
                                 [record for _, record in malformed], timeout_s=90)
        yield session, malformed, killed, progress


def test_killed_functions_were_restarted(run):
    session, _, killed, _ = run
    status = session.runtime.status()
    for function, pid in killed.items():
        assert status[function].restarts >= 1 and status[function].pid != pid and status[function].alive


def test_every_closed_window_has_exactly_the_expected_results(run):
    session, _, _, progress = run
    assert_every_window_has_exactly_the_expected_results(session, progress)


def test_samples_hold_each_request_once(run):
    session, _, _, _ = run
    assert_samples_hold_each_request_once(session)


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
    assert_malformed_dead_lettered(session, malformed)


def test_the_alerts_function_alerts_on_what_the_results_show(run):
    """The demo's alert (general_drift suspected or detected in 2 windows within an hour) is active exactly for
    the endpoints whose stored results meet it, though the writer was killed mid-run."""
    session, _, _, _ = run
    alerts = session.wait_for_alerts(timeout_s=60)
    history = session.history()
    drift = history[(history["app_name"] == DEMO_ALERT.apps[0]) & (history["result_name"] == "general_drift")]
    flagged = drift[drift["status"] >= 1].groupby("endpoint_id")["start_ms"].nunique()
    expected = set(flagged[flagged >= DEMO_ALERT.count].index)
    assert session.endpoint_ids["C"] in expected and session.endpoint_ids["A"] not in expected
    assert {a["endpoint_id"] for a in alerts} == expected
    assert all(a["config"] == DEMO_ALERT.name and a["result"] == "general_drift" and a["state"] == "active"
               for a in alerts)
