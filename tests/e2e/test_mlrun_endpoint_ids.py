"""MLRun 1.12 traffic is analysed on endpoints registered under MLRun's ids, in one process.

Two endpoints are registered through the project SDK under the ids MLRun assigned them, with a real
reference (a random half of scikit-learn's breast-cancer data). MLRun 1.12-shaped events (one per
request, ``endpoint_id``, sampling fields, error events, model labels) drawn from the other half go through
the tracking stream, the stream function's ingestor, the controller, the histogram-drift app and the
writer; ground-truth labels are logged for some requests. Every feature but the first two of the second
endpoint's traffic is shifted by three standard deviations: a shift no decision rule can miss.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlrun_events import encoded, failed, served
from sklearn.datasets import load_breast_cancer

import modelmon
from modelmon.apps.builtin import HistogramDataDriftApplication
from modelmon.apps.registry import AppRegistry
from modelmon.apps.runner import AppRunner
from modelmon.backends.base import OutRecord
from modelmon.controller import Controller
from modelmon.core.paths import ProjectPaths
from modelmon.labels.matching import handle_labels_record, label_counts
from modelmon.queries import list_endpoints, result_history
from modelmon.stream import Ingestor, RawRecord
from modelmon.testing import stream_records
from modelmon.writer import ResultWriter

pytestmark = pytest.mark.slow  # about 20 s: ~500 records ingested one by one, six windows analysed

BUNDLE = Path(__file__).resolve().parents[1] / "deploy" / "bundle"
PROJECT = "mlrun-traffic"
PATHS = ProjectPaths(PROJECT)
APP = "histogram-data-drift"
PERIOD = 600_000  # the controller's default 10-minute base period
T0 = 1_714_557_600_000  # 2024-05-01 10:00 UTC, a period boundary
WINDOWS, ROWS = 3, 240  # rows per window and endpoint
FUNCTION_URI = f"{PROJECT}/serving"
#: ids as MLRun 1.12 assigns them (uuid hex), not derivable from the names
STABLE_ID, SHIFTED_ID = "5d1e6a3c9b2f4e07a8c1d2e3f4a5b6c7", "0f9e8d7c6b5a49382716a5b4c3d2e1f0"
ERRORS_PER_WINDOW = 3


def _data() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = load_breast_cancer(as_frame=True).data
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    order = np.random.default_rng(7).permutation(len(frame))
    half = len(frame) // 2
    return frame.iloc[order[:half]].reset_index(drop=True), frame.iloc[order[half:]].reset_index(drop=True)


def _events(endpoint_id: str, name: str, pool: pd.DataFrame, rng: np.random.Generator) -> list[dict]:
    """MLRun 1.12 events of WINDOWS periods (requests of 1-4 rows, ROWS distinct rows of ``pool`` a window, a
    few errors), then the first request of the next period."""
    events = []
    for window in range(WINDOWS):
        start, rows, drawn = T0 + window * PERIOD, 0, rng.permutation(len(pool))[:ROWS]  # distinct rows
        while rows < ROWS:
            size = int(min(rng.integers(1, 5), ROWS - rows))
            batch = pool.iloc[drawn[rows:rows + size]].to_numpy().tolist()
            when = start + int(rows / ROWS * (PERIOD - 10_000))
            events.append(served(endpoint_id, name, FUNCTION_URI, f"{name}-{window}-{rows}", batch,
                                 [int(r[0] > 14) for r in batch], when, labels={"team": "risk"}))
            rows += size
        for k in range(ERRORS_PER_WINDOW):
            events.append(failed(endpoint_id, name, FUNCTION_URI, f"{name}-{window}-err{k}", batch[:1],
                                 start + 5_000 * (k + 1), "ValueError: Input contains NaN", labels={"team": "risk"}))
    # traffic goes on: its first request moves the watermark past the last window, which closes it
    events.append(served(endpoint_id, name, FUNCTION_URI, f"{name}-next", batch[:1], [0], T0 + WINDOWS * PERIOD))
    return events


def _drain(backend, path: str) -> list[bytes]:
    return [r.data for r in stream_records(backend.streams, path)]


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    home = tmp_path_factory.mktemp("mlrun") / "home"
    reference, held_out = _data()
    shifted = held_out.copy()
    moved = list(shifted.columns[2:])
    shifted[moved] += 3 * reference[moved].std()
    with modelmon.get_or_create_project(PROJECT, home=home, bundle_dir=BUNDLE) as project:
        for endpoint_id, name in ((STABLE_ID, "cancer-stable"), (SHIFTED_ID, "cancer-shifted")):
            project.register_model_endpoint(name, endpoint_id=endpoint_id, function_name="serving",
                                            reference_data=reference, labels={"team": "risk"})
        backend = project.backend
        rng = np.random.default_rng(11)
        events = (_events(STABLE_ID, "cancer-stable", held_out, rng)
                  + _events(SHIFTED_ID, "cancer-shifted", shifted, rng))
        backend.streams.create(PATHS.tracking_stream, shards=2)
        backend.streams.put_records(PATHS.tracking_stream, [OutRecord(encoded(e), e["endpoint_id"]) for e in events])

        clock = T0 + WINDOWS * PERIOD + 60_000
        ingestor = Ingestor(backend, PROJECT, clock=lambda: clock)
        ingestor.setup()
        reports = [ingestor.process(RawRecord(r.data, r.shard, r.sequence))
                   for r in stream_records(backend.streams, PATHS.tracking_stream)]

        labelled = [e for e in events if e["endpoint_id"] == STABLE_ID and "error" not in e][:20]
        project.log_labels("cancer-stable", [e["request"]["id"] for e in labelled], [1] * len(labelled),
                           timestamps=[e["when"] for e in labelled])
        for record in stream_records(backend.streams, PATHS.labels_stream):
            handle_labels_record(backend, PROJECT, record.data, f"s{record.shard}-{record.sequence}")

        AppRegistry(backend.kv, PATHS).register(APP, "modelmon.apps:HistogramDataDriftApplication")
        controller = Controller(backend, PATHS, clock=lambda: clock).run()
        runner = AppRunner(HistogramDataDriftApplication(), APP, backend, PATHS)
        outcomes = [runner.handle(body) for body in _drain(backend, PATHS.app_stream(APP))]
        writer = ResultWriter(backend, PATHS)
        for body in _drain(backend, PATHS.writer_stream):
            writer.handle(body)
        yield project, events, reports, controller, outcomes


def test_every_event_lands_on_its_registered_endpoint(analysed):
    project, events, reports, _, _ = analysed
    assert {r.endpoint_id for r in reports} == {STABLE_ID, SHIFTED_ID}
    assert sum(r.rejected for r in reports) == 0 and not any(r.duplicate for r in reports)
    endpoints = list_endpoints(project.backend, PROJECT).set_index("endpoint_id")
    assert sorted(endpoints.index) == sorted([STABLE_ID, SHIFTED_ID])  # no second, traffic-less endpoint
    for endpoint_id in (STABLE_ID, SHIFTED_ID):
        mine = [e for e in events if e["endpoint_id"] == endpoint_id]
        assert endpoints.loc[endpoint_id, "request_count"] == sum("error" not in e for e in mine)
        assert endpoints.loc[endpoint_id, "error_count"] == WINDOWS * ERRORS_PER_WINDOW
        # unsampled (100 %): the rows MLRun's effective_sample_count reports, the window rows and the next one
        assert project.get_model_endpoint(endpoint_id=endpoint_id).estimated_prediction_count == WINDOWS * ROWS + 1
        stored = project.backend.samples.read(endpoint_id, T0, T0 + WINDOWS * PERIOD)
        assert len(stored) == WINDOWS * ROWS
    assert label_counts(project.backend, PROJECT, STABLE_ID) == {"matched": 20, "pending": 0}


def test_windows_use_the_reference_and_separate_drift_from_no_drift(analysed):
    project, _, _, controller, outcomes = analysed
    assert controller.windows_dispatched == 2 * WINDOWS
    assert all(outcome.error is None for outcome in outcomes)
    history = result_history(project.backend, PROJECT, app_name=APP)
    general = history[history["result_name"] == "general_drift"]
    for endpoint_id, status in ((STABLE_ID, 0), (SHIFTED_ID, 2)):  # no_detection, detected
        mine = general[general["endpoint_id"] == endpoint_id].sort_values("start_ms")
        assert mine["start_ms"].tolist() == [T0 + k * PERIOD for k in range(WINDOWS)]
        assert mine["status"].tolist() == [status] * WINDOWS  # never irrelevant: the reference was used
    statuses = history.groupby("endpoint_id")["status"].agg(["min", "max"])
    assert statuses.loc[STABLE_ID].tolist() == [0, 0]  # no result of the stable endpoint flags anything
    names = list_endpoints(project.backend, PROJECT).set_index("endpoint_id")["drift_status_name"]
    assert names[STABLE_ID] == "no_detection" and names[SHIFTED_ID] == "detected"
    assert project.get_model_endpoint("cancer-shifted").endpoint_id == SHIFTED_ID
