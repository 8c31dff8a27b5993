"""The steps of the day-to-day test, each run in a process of its own (``python day_steps.py STEP HOME ...``).

Each opens the project through the SDK as a user's script or notebook would, does its part and exits;
only the home's service keeps running between them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from service_helpers import wait_for
from traffic import register_endpoint, send_labelled_window

import modelmon

PROJECT = "daily"
REPO = Path(__file__).resolve().parents[2]
PERFORMANCE = "modelmon.apps.builtin.model_performance:ModelPerformanceApplication"


def register_apps(home: str, app_file: str) -> None:
    """A user's app from its file (with a kwarg), and the built-in model-performance app."""
    with modelmon.get_or_create_project(PROJECT, home=home, bundle_dir=REPO) as project:
        project.set_model_monitoring_function(func=app_file, application_class="MeanShift", name="mean-shift",
                                              expected_mean=0.0)
        project.set_model_monitoring_function(application_class=PERFORMANCE, name="model-performance")
        print(json.dumps(sorted(app.name for app in project.list_model_monitoring_functions())))


def send_traffic(home: str, base: str) -> None:
    """The endpoint, its window's requests and labels, and the request that closes the window."""
    with modelmon.get_or_create_project(PROJECT, home=home, bundle_dir=REPO) as project:
        endpoint_id = register_endpoint(project)
        sent = send_labelled_window(project, endpoint_id, int(base))
        print(json.dumps({"endpoint_id": endpoint_id, **sent}))


def read_results(home: str, base: str) -> None:
    """mean-shift's result and metric and model-performance's accuracy for the window, once they are stored."""
    with modelmon.get_or_create_project(PROJECT, home=home, bundle_dir=REPO) as project:
        def window_done() -> bool:
            results = project.get_results()
            done = results[results["start_ms"] == int(base)]
            return {"mean-shift", "model-performance"} <= set(done["app_name"])

        wait_for("both apps' results for the window", window_done, timeout_s=90)
        results = project.get_results(app_name="mean-shift")
        metrics = project.get_metrics(app_name="mean-shift")
        performance = project.get_results(app_name="model-performance").set_index("result_name")
        print(json.dumps({
            "results": results[["result_name", "value", "status_name", "start_ms", "end_ms"]].to_dict("records"),
            "metrics": metrics[["metric_name", "value", "start_ms", "end_ms"]].to_dict("records"),
            "accuracy": float(performance.loc["accuracy", "value"]),
            "accuracy_status": performance.loc["accuracy", "status_name"],
        }))


if __name__ == "__main__":
    step, *args = sys.argv[1:]
    {"register-apps": register_apps, "send-traffic": send_traffic, "read-results": read_results}[step](*args)
