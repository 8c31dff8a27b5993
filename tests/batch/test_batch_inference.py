"""Batch inference: predictions dataset, sample rows, watermark and the controller's windows."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pandas as pd
import pytest
from batch_data import FEATURES, T0

from modelmon.apps.registry import AppRegistry
from modelmon.backends import scan_all
from modelmon.backends.base import SeekTo
from modelmon.batch.inference import batch_infer, default_endpoint_id
from modelmon.controller.controller import Controller
from modelmon.core.errors import NotFound
from modelmon.core.paths import ProjectPaths
from modelmon.endpoints.registration import get_model_endpoint, register_model_endpoint
from modelmon.events import WindowEvent

PROJECT = "test"
PATHS = ProjectPaths(PROJECT)
HOUR = 3_600_000


def dispatched_windows(backend, app="histogram-data-drift", now=T0 + HOUR):
    """Run the controller once (at ``now``) with ``app`` registered; the windows it dispatched."""
    AppRegistry(backend.kv, PATHS).register(app, "modelmon.apps:HistogramDataDriftApplication")
    Controller(backend, PATHS, base_period_minutes=10, clock=lambda: now).run()
    stream = PATHS.app_stream(app)
    records = backend.streams.read(stream, 0, backend.streams.seek(stream, 0, SeekTo.EARLIEST), limit=1000)
    return sorted((w.endpoint_id, w.start_ms, w.end_ms) for w in map(WindowEvent.from_body, (r.data for r in records)))


def test_job_without_endpoint_id_records_into_a_stable_default_endpoint(backend, iris, model):
    result = batch_infer(backend, PROJECT, iris, model, feature_columns=FEATURES, label_columns=["species"],
                         timestamp_column="ts", job_name="nightly", base_period_minutes=10)
    assert result.endpoint_id == default_endpoint_id(PROJECT, "nightly")
    assert (result.rows, result.first_ms, result.last_ms) == (150, T0, T0 + 149 * 8_000)
    assert result.watermark_ms == T0 + 20 * 60_000  # the batch is complete: its last window is closed
    predictions = pd.read_parquet(io.BytesIO(backend.objects.get_object(result.predictions_path)))
    assert list(predictions["species"]) == list(model.predict(iris[FEATURES]))
    assert list(predictions["label"]) == list(iris["species"])  # the ground truth is kept
    samples = backend.samples.read(result.endpoint_id, T0, T0 + HOUR)
    assert len(samples) == 150 and list(samples["timestamp"]) == list(iris["ts"])
    assert samples["request_id"].is_unique and set(FEATURES) <= set(samples.columns)
    endpoint = get_model_endpoint(backend, PROJECT, result.endpoint_id)
    assert endpoint.name == "nightly" and endpoint.feature_names == FEATURES and endpoint.label_names == ["species"]
    assert endpoint.feature_stats == {} and result.reference == "none"  # never the batch without being asked
    assert (endpoint.first_request_ms, endpoint.last_request_ms, endpoint.request_count) == (
        T0, T0 + 149 * 8_000, 150)

    again = batch_infer(backend, PROJECT, iris.assign(ts=iris["ts"] + HOUR), model, feature_columns=FEATURES,
                        label_columns=["species"], timestamp_column="ts", job_name="nightly")
    assert again.endpoint_id == result.endpoint_id  # same job name, same endpoint
    assert [k for k, _ in scan_all(backend.kv, PATHS.endpoints_table)] == [result.endpoint_id]
    endpoint = get_model_endpoint(backend, PROJECT, result.endpoint_id)
    assert endpoint.request_count == 300 and endpoint.watermark_ms == T0 + HOUR + 149 * 8_000 + 1
    assert batch_infer(backend, PROJECT, iris, model, feature_columns=FEATURES, label_columns=["species"],
                       job_name="other").endpoint_id != result.endpoint_id


def test_controller_analyses_the_windows_of_the_batch(backend, iris, model):
    result = batch_infer(backend, PROJECT, iris, model, feature_columns=FEATURES, label_columns=["species"],
                         timestamp_column="ts", job_name="nightly", base_period_minutes=10)
    assert dispatched_windows(backend) == [(result.endpoint_id, T0, T0 + 600_000),
                                           (result.endpoint_id, T0 + 600_000, T0 + 1_200_000)]


def test_job_with_endpoint_id_records_into_that_endpoint(backend, iris, model):
    served = register_model_endpoint(backend, PROJECT, "iris", reference_data=iris[FEATURES])
    later = iris.assign(ts=iris["ts"] + 30 * 60_000)
    result = batch_infer(backend, PROJECT, later.drop(columns=["species"]), model.predict,
                         endpoint_id=served.endpoint_id, timestamp_column="ts")
    assert result.endpoint_id == served.endpoint_id
    endpoint = get_model_endpoint(backend, PROJECT, served.endpoint_id)
    assert endpoint.feature_names == FEATURES and endpoint.label_names == ["prediction"]  # names filled in
    assert endpoint.watermark_ms == T0 + 30 * 60_000 + 149 * 8_000 + 1
    assert endpoint.last_request_ms == T0 + 30 * 60_000 + 149 * 8_000 and endpoint.request_count == 150
    samples = backend.samples.read(served.endpoint_id, T0, T0 + HOUR)
    assert len(samples) == 150 and "label" not in samples.columns
    # the window holding the watermark waits for more traffic; the closed one is dispatched
    assert dispatched_windows(backend, now=T0 + 60 * 60_000) == [(served.endpoint_id, T0 + 1_800_000,
                                                                 T0 + 2_400_000)]


def test_model_path_csv_dataset_and_drift_analysis(backend, iris, model, tmp_path):
    model_path = tmp_path / "model.pkl"
    model_path.write_bytes(pickle.dumps(model))
    reference = iris.iloc[:100]
    csv = tmp_path / "batch.csv"
    shifted = iris.assign(petal_length=iris["petal_length"] + 3.0)
    shifted.to_csv(csv, index=False)
    out = tmp_path / "out" / "predictions.parquet"
    result = batch_infer(backend, PROJECT, csv, model_path, feature_columns=FEATURES, label_columns=["species"],
                         timestamp_column="ts", job_name="drifty", reference_data=reference, output_path=out,
                         perform_drift_analysis=True, drift_period_minutes=10)
    assert result.predictions_path == str(out) and len(pd.read_parquet(out)) == 150
    assert result.reference == "reference_data"
    # without base_period_minutes the watermark is just after the last row: the second window is not closed
    assert [(e.start_ms, e.end_ms) for e in result.drift.events] == [(T0, T0 + 600_000)]
    assert result.drift.pending == ((T0 + 600_000, T0 + 1_200_000),)
    table = result.drift_table.set_index("feature")
    assert bool(table.loc["petal_length", "drifted"]) and not bool(table.loc["sepal_width", "drifted"])
    assert set(table["start_ms"]) == {T0}
    results = result.drift_results
    share = results[results["name"] == "drifted_features_share"].iloc[0]
    assert share["value"] > 0 and share["status"] >= 1 and share["status_name"] in ("potential_detection", "detected")
    assert set(results["type"]) == {"result", "metric"}
    summary = result.to_dict()
    (window,) = summary["drift"]["windows"]
    assert {r["name"] for r in window["results"]} == {"general_drift", "drifted_features_share"}
    assert {r["status"] for r in window["results"]} <= {"no_detection", "potential_detection", "detected"}
    assert summary["drift"]["pending_windows"][0]["start"] == "2024-01-01T00:10:00+00:00"


def nothing_written(backend):
    assert list(scan_all(backend.kv, PATHS.endpoints_table)) == []
    assert backend.objects.list_objects("") == []


@pytest.mark.parametrize(("change", "error", "message"), [
    (lambda a: a | {"feature_columns": [*FEATURES, "colour"]}, ValueError, "no feature column.*colour"),
    (lambda a: a | {"dataset": a["dataset"].iloc[:0]}, ValueError, "dataset is empty"),
    (lambda a: a | {"model": "/nonexistent/model.pkl"}, FileNotFoundError, "model file"),
    (lambda a: a | {"model": lambda df: np.zeros(3)}, ValueError, r"returned shape \(3, 1\)"),
    (lambda a: a | {"model": lambda df: 1 / 0}, ValueError, "failed to predict: ZeroDivisionError"),
    (lambda a: a | {"timestamp_column": "when"}, ValueError, "timestamp_column 'when' is not a column"),
    (lambda a: a | {"endpoint_id": "0" * 40}, NotFound, "has no such model endpoint"),
    (lambda a: a | {"job_name": "../x"}, ValueError, "job_name"),
    (lambda a: a | {"perform_drift_analysis": True, "drift_period_minutes": 10}, ValueError,
     r"endpoint 'batch-inference' has no reference data to compare the batch with: pass reference_data "
     r"\(--reference FILE\).*or self_reference=True \(--self-reference\)"),
    (lambda a: a | {"perform_drift_analysis": True, "reference_data": a["dataset"]}, ValueError,
     "perform_drift_analysis needs the windows' length"),
    (lambda a: a | {"reference_data": a["dataset"], "self_reference": True}, ValueError,
     "pass reference_data or self_reference=True, not both"),
    (lambda a: a | {"endpoint_id": "0" * 40, "self_reference": True}, ValueError,
     "reference_data and self_reference apply to the job's own endpoint"),
    (lambda a: a | {"self_reference": "yes"}, ValueError, "self_reference must be True or False"),
])
def test_bad_inputs_are_clear_errors_and_write_nothing(backend, iris, model, change, error, message):
    args = {"dataset": iris, "model": model, "feature_columns": FEATURES, "label_columns": ["species"],
            "timestamp_column": "ts"}
    args = change(args)
    with pytest.raises(error, match=message):
        batch_infer(backend, PROJECT, args.pop("dataset"), args.pop("model"), **args)
    nothing_written(backend)


def test_unloadable_model_file_is_a_clear_error(backend, iris, tmp_path):
    broken = tmp_path / "broken.pkl"
    broken.write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match=r"broken\.pkl' cannot be loaded"):
        batch_infer(backend, PROJECT, iris, broken, feature_columns=FEATURES, timestamp_column="ts")
    not_a_model = tmp_path / "settings.pkl"
    not_a_model.write_bytes(pickle.dumps({"alpha": 1}))
    with pytest.raises(ValueError, match=r"settings\.pkl' holds a dict, not a model"):
        batch_infer(backend, PROJECT, iris, not_a_model, feature_columns=FEATURES, timestamp_column="ts")
    nothing_written(backend)
