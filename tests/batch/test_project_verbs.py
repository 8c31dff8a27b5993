"""The project SDK verbs delegate to registration, labels and batch inference on the project's backend."""

from __future__ import annotations

from pathlib import Path

from batch_data import FEATURES, T0

import modelmon
from modelmon.batch.inference import default_endpoint_id
from modelmon.core.paths import ProjectPaths
from modelmon.labels.matching import handle_labels_record, label_counts, load_window_labels
from modelmon.service import read_state

BUNDLE = Path(__file__).resolve().parents[1] / "deploy" / "bundle"


def test_project_register_batch_infer_and_log_labels(home, iris, model):
    with modelmon.get_or_create_project("sdk", home=home, bundle_dir=BUNDLE) as project:
        endpoint = project.register_model_endpoint("iris", reference_data=iris[FEATURES])
        assert project.get_model_endpoint(endpoint.endpoint_id).feature_names == FEATURES
        result = project.batch_infer(iris, model, feature_columns=FEATURES, label_columns=["species"],
                                     timestamp_column="ts", job_name="nightly")
        assert result.endpoint_id == default_endpoint_id("sdk", "nightly")
        assert result.watermark_ms == T0 + 20 * 60_000  # the project's 10-minute period closes the last window
        ids = [f"{result.batch_id}-{i}" for i in range(3)]
        backend, stream = project.backend, ProjectPaths("sdk").labels_stream
        # labelled years after the predictions, without hints: beyond the lookback, kept as pending
        assert project.log_labels("nightly", ids, [0, 0, 0]) == 3
        handle_labels_record(backend, "sdk", backend.streams.read(stream, 0, 1)[0].data, "s0-1")
        assert label_counts(backend, "sdk", result.endpoint_id) == {"matched": 0, "pending": 3}
        assert len(load_window_labels(backend, "sdk", result.endpoint_id, T0, T0 + 600_000)) == 3  # still joined
        # with the predictions' times as hints they are found
        assert project.log_labels("nightly", ids, [1, 1, 1], timestamps=[T0, T0 + 8_000, T0 + 16_000]) == 3
        handle_labels_record(backend, "sdk", backend.streams.read(stream, 0, 2)[0].data, "s0-2")
        assert label_counts(backend, "sdk", result.endpoint_id) == {"matched": 3, "pending": 3}
        window = load_window_labels(backend, "sdk", result.endpoint_id, T0, T0 + 600_000)
        assert sorted(window["request_id"]) == ids and set(window["label"]) == {1}  # the latest label wins
    assert read_state(home) is None  # registering, batch inference and labels start no local service
