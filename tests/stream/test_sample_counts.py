"""Sampled traffic is counted as MLRun counts it: ``effective_sample_count * 100 / sampling_percentage``.

The endpoint's ``request_count`` stays the requests tracked (latency is averaged over them); its
``estimated_prediction_count`` and the predictions series' ``estimated_count`` are the predictions they
stand for.
"""

from __future__ import annotations

import pandas as pd
import pytest

from modelmon.core.paths import ProjectPaths
from modelmon.endpoints.registration import get_model_endpoint
from modelmon.events import tracking_body
from modelmon.stream import Ingestor, RawRecord, read_predictions

PROJECT = "test"  # the project of the ``backend`` fixture's settings
PATHS = ProjectPaths(PROJECT)
EP = "4c1f9e2a7d3b4a6e8f0c1d2e3f4a5b6c"
MINUTE = 1_714_557_600_000  # 2024-05-01 10:00 UTC


def _mlrun(request_id: str, rows: list[list[float]], second: int, **sampling) -> dict:
    """A served request as MLRun 1.12's pusher sends it, with its sampling fields."""
    when = pd.Timestamp(MINUTE + second * 1000, unit="ms", tz="UTC").isoformat(sep=" ", timespec="microseconds")
    return {"class": "M", "worker": 0, "model": "churn", "host": "h", "function_uri": f"{PROJECT}/serving",
            "endpoint_id": EP, "request": {"inputs": rows, "id": request_id}, "op": "infer",
            "resp": {"id": request_id, "model_name": "churn", "outputs": [0] * len(rows)}, "when": when,
            "microsec": 1000, **sampling}


def _ingest(backend, *bodies: dict) -> Ingestor:
    ingestor = Ingestor(backend, PROJECT)
    ingestor.setup()
    for sequence, body in enumerate(bodies, start=1):
        ingestor.process(RawRecord(body, shard=0, sequence=sequence))
    return ingestor


def test_sampled_requests_count_as_the_predictions_they_stand_for(backend):
    error = {key: value for key, value in _mlrun("e1", [[1.0, 2.0]], 30).items() if key not in ("resp", "microsec")}
    _ingest(backend,
            _mlrun("r1", [[1.0, 2.0]], 1, sampling_percentage=25.0, effective_sample_count=1),  # 4 predictions
            _mlrun("r2", [[1.0, 2.0], [3.0, 4.0]], 2, sampling_percentage=50.0, effective_sample_count=2),  # 4
            _mlrun("r3", [[1.0, 2.0]], 3),  # no sampling fields: 1
            _mlrun("r4", [[1.0, 2.0]], 70, sampling_percentage=10, effective_sample_count=1),  # 10, next minute
            {**error, "sampling_percentage": 25.0, "error": "ValueError: bad input"})  # an error: no prediction
    endpoint = get_model_endpoint(backend, PROJECT, EP)
    assert (endpoint.request_count, endpoint.error_count, endpoint.estimated_prediction_count) == (4, 1, 19.0)
    assert endpoint.latency_avg_us == 1000  # over the tracked requests, not the estimate
    minutes = read_predictions(backend.tsdb, PATHS.predictions_tsdb, EP, 0, 2**62)
    assert minutes[["time", "count", "estimated_count"]].values.tolist() == [[MINUTE, 3, 9.0],
                                                                              [MINUTE + 60_000, 1, 10.0]]


def test_effective_sample_count_is_the_rows_a_request_kept(backend):
    # MLRun keeps each row with the percentage and sends how many it kept; without it the rows count
    _ingest(backend, _mlrun("r1", [[1.0, 2.0]] * 3, 1, sampling_percentage=50.0, effective_sample_count=3),
            _mlrun("r2", [[1.0, 2.0]] * 3, 2, sampling_percentage=50.0))
    assert get_model_endpoint(backend, PROJECT, EP).estimated_prediction_count == 12.0


@pytest.mark.parametrize("sampling", [
    {"sampling_percentage": 0}, {"sampling_percentage": 150.0}, {"sampling_percentage": "25"},
    {"sampling_percentage": True}, {"effective_sample_count": -1}, {"effective_sample_count": 1.5},
    {"effective_sample_count": 10**400},
])
def test_unusable_sampling_fields_count_the_rows_unsampled(backend, sampling):
    # as MLRun's sampling step reads a percentage outside (0, 100]: no sampling; the rows are stored either way
    _ingest(backend, _mlrun("r1", [[1.0, 2.0], [3.0, 4.0]], 1, **sampling))
    endpoint = get_model_endpoint(backend, PROJECT, EP)
    assert (endpoint.request_count, endpoint.estimated_prediction_count) == (1, 2.0)
    assert len(backend.samples.read(EP, 0, 2**62)) == 2


def test_a_batched_record_scales_each_requests_rows(backend):
    requests = [{"request": {"id": f"r{i}", "inputs": [[1.0, 2.0]] * (i + 1)}, "resp": {"outputs": [0] * (i + 1)},
                 "when": MINUTE + i, "microsec": 10} for i in range(3)]
    body = tracking_body(model="churn", function_uri=f"{PROJECT}/serving", requests=requests, endpoint_id=EP)
    _ingest(backend, {**body, "sampling_percentage": 20.0, "effective_sample_count": 1})  # one count, 3 requests
    assert get_model_endpoint(backend, PROJECT, EP).estimated_prediction_count == (1 + 2 + 3) * 5.0


def test_a_redelivered_record_is_estimated_once(backend):
    ingestor = _ingest(backend, _mlrun("r1", [[1.0, 2.0]], 1, sampling_percentage=25.0, effective_sample_count=1))
    ingestor.process(RawRecord(_mlrun("r1", [[1.0, 2.0]], 1, sampling_percentage=25.0, effective_sample_count=1),
                               shard=0, sequence=1))
    assert get_model_endpoint(backend, PROJECT, EP).estimated_prediction_count == 4.0
    assert read_predictions(backend.tsdb, PATHS.predictions_tsdb, EP, 0, 2**62)["estimated_count"].tolist() == [4.0]


def test_minutes_written_before_the_estimate_existed_estimate_their_count(backend):
    backend.tsdb.create_table(PATHS.predictions_tsdb)
    backend.tsdb.write(PATHS.predictions_tsdb, pd.DataFrame({
        "time": [MINUTE], "endpoint_id": EP, "batch_id": "old", "count": [7], "latency_sum_us": [70.0],
        "latency_max_us": [10.0]}), labels=["endpoint_id", "batch_id"])
    assert read_predictions(backend.tsdb, PATHS.predictions_tsdb, EP, 0, 2**62)["estimated_count"].tolist() == [7.0]
    _ingest(backend, _mlrun("r1", [[1.0, 2.0]], 5, sampling_percentage=50.0, effective_sample_count=1))
    minutes = read_predictions(backend.tsdb, PATHS.predictions_tsdb, EP, 0, 2**62)
    assert minutes[["count", "estimated_count"]].values.tolist() == [[8, 9.0]]


def test_endpoints_table_shows_estimated_predictions_when_they_differ_from_requests(backend):
    from modelmon.cli.endpoints import format_table
    from modelmon.queries import list_endpoints

    _ingest(backend, _mlrun("r1", [[1.0, 2.0]], 1, sampling_percentage=25.0, effective_sample_count=1))
    endpoints = list_endpoints(backend, PROJECT)
    assert endpoints[["request_count", "estimated_prediction_count"]].values.tolist() == [[1, 4.0]]
    header, row = format_table(endpoints, PROJECT).splitlines()
    assert header.split()[3:6] == ["request_count", "predictions", "error_count"]
    numbers = {name: row[:header.index(name) + len(name)].split()[-1] for name in ("request_count", "predictions")}
    assert numbers == {"request_count": "1", "predictions": "4"}  # right-aligned under their headers
