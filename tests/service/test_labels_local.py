"""``project.log_labels`` on the local target reaches the model-performance results: the labels function
runs in the home's service as part of ``enable_model_monitoring()``."""

from __future__ import annotations

from pathlib import Path

import pytest
from service_helpers import wait_for
from traffic import REFERENCE_ACCURACY, REQUESTS, past_window, register_endpoint, send_labelled_window

import modelmon
from modelmon.queries import app_failures

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
PERFORMANCE = "modelmon.apps.builtin.model_performance:ModelPerformanceApplication"


def test_labels_reach_model_performance_results(service_home):
    base = past_window()
    with modelmon.get_or_create_project("labelled", home=service_home, bundle_dir=REPO,
                                        controller_interval="1s") as project:
        states = project.enable_model_monitoring(base_period=1, deploy_histogram_data_drift_app=False,
                                                 wait_for_deployment=True)
        assert [s.function for s in states] == ["model-monitoring-stream", "model-monitoring-controller",
                                                "model-monitoring-writer", "labels"]
        project.set_model_monitoring_function(application_class=PERFORMANCE, name="model-performance")
        endpoint_id = register_endpoint(project)
        send_labelled_window(project, endpoint_id, base)

        def accuracy():
            assert app_failures(project.backend, project.name).empty
            results = project.get_results(app_name="model-performance").set_index("result_name")
            return None if "accuracy" not in results.index else results.loc["accuracy"].to_dict()

        row = wait_for("model-performance's accuracy", accuracy, timeout_s=60)
        assert (row["start_ms"], row["end_ms"]) == (base, base + 60_000)
        assert row["value"] == pytest.approx(0.75)  # 10 of the 40 labels disagree with the prediction
        assert row["extra_data"]["labeled_rows"] == REQUESTS
        assert row["extra_data"]["degradation"] == pytest.approx(REFERENCE_ACCURACY - 0.75)
        assert row["status_name"] == "detected"
