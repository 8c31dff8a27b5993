"""The project SDK verbs delegate to registration, labels and batch inference on the project's backend."""

from __future__ import annotations

from pathlib import Path

from conftest import FEATURES, T0

import modelmon
from modelmon.batch_inference import default_endpoint_id
from modelmon.labels import handle_labels_record, label_counts
from modelmon.paths import ProjectPaths

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
        assert project.log_labels("nightly", ids, [0, 0, 0]) == 3
        (record,) = project.backend.streams.read(ProjectPaths("sdk").labels_stream, 0, 1)
        handle_labels_record(project.backend, "sdk", record.data, "s0-1")
        assert label_counts(project.backend, "sdk", result.endpoint_id) == {"matched": 3, "pending": 0}
