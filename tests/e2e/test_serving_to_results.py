"""A tracked model server under the local runtime, through to stored results (issue 5, "Done when").

The example iris server (``functions/serving``, http trigger) runs next to the stream function, the
controller, the writer, the labels function and the ``histogram-data-drift`` and ``model-performance``
apps, each a local process. Real HTTP requests carry their own ids; ground-truth labels for them (every
4th deliberately wrong) go through ``project.log_labels`` after the requests and before their window
closes. The base period is 1 minute and the grace period 0, so the window holding the requests closes
by wall clock as soon as its minute has passed: the test waits for that minute to end, then for the
controller, the apps and the writer.

Expected results are the apps evaluated in this process on the rows and labels the pipeline stored for
that window; on top, the model-performance ``accuracy`` must be exactly 0.75 over all 40 requests.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris

import modelmon
from functions.serving.handler import FEATURES
from modelmon.apps.builtin import HistogramDataDriftApplication, ModelPerformanceApplication
from modelmon.apps.registry import AppRegistry
from modelmon.core.config import ENV_APP_CLASS, Settings
from modelmon.core.paths import ProjectPaths
from modelmon.core.timeutil import now_ms
from modelmon.deploy.render import load_templates, render_function, role_template, write_configs
from modelmon.endpoints.registration import default_function_uri
from modelmon.functions.roles import Role
from modelmon.labels.matching import label_counts, load_window_labels
from modelmon.local_nuclio import LocalRuntime
from modelmon.queries import app_failures, latest_results, result_history

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]  # the repository checkout is the bundle
PROJECT = "served"
MODEL = "iris"
MINUTE = 60_000
REQUESTS = 40
APPS = ("histogram-data-drift", "model-performance")
REFERENCE_ACCURACY = 0.95
LATEST_SEND_MS = 40_000  # requests go out in the first 40 s of a minute: 20 s left to label them
T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout_s: float) -> T:
    """Poll ``probe`` until it returns something other than ``None``/``False``; ``TimeoutError`` naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout_s:g}s")
        time.sleep(0.1)


def render_bundle(out_dir: Path, settings: Settings) -> dict[str, str]:
    """The committed configs rendered for ``PROJECT`` into ``out_dir``; bundle name -> function name.

    The controller looks every second (the windows close by wall clock, at most a second late); the
    serving function flushes tracking after 0.1 s and is told its Nuclio name as Nuclio tells it
    (``<project>-serving``), so the endpoint it tracks must still be the one registered for ``serving``.
    """
    templates = {t.name: t for t in load_templates(REPO)}
    wanted = [role_template(templates.values(), role).name for role in Role.core_roles()]
    wanted += ["labels", "serving", *APPS]
    rendered, names = [], {}
    for template in (templates[name] for name in wanted):
        env = None
        if template.name == "serving":
            env = {"TRACKING_MAX_DELAY_S": "0.1", "NUCLIO_FUNCTION_NAME": f"{PROJECT}-serving"}
        function = render_function(template, settings, env=env)
        if template.name == wanted[1]:
            for trigger in function.config["spec"]["triggers"].values():
                trigger["attributes"] = {"interval": "1s"}
        rendered.append(function)
        names[template.name] = function.name
    write_configs(rendered, out_dir)
    return names


def app_class(name: str) -> str:
    (template,) = load_templates(REPO, [name])
    return next(e["value"] for e in template.config["spec"]["env"] if e["name"] == ENV_APP_CLASS)


def request(port: int, method: str, body: Any = None) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        payload = None if body is None else json.dumps(body)
        conn.request(method, "/", body=payload, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Serve 40 labelled requests in one window and wait until both apps' results for it are stored."""
    home = tmp_path_factory.mktemp("serving") / "home"
    settings = Settings(home=str(home), project=PROJECT, base_period_minutes=1, grace_minutes=0)
    names = render_bundle(home / "bundle", settings)
    iris = load_iris()
    reference = pd.DataFrame(iris.data, columns=FEATURES).assign(prediction=iris.target)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    with LocalRuntime(home / "bundle", settings, env=env,
                      log_file=home / "functions.log") as runtime, \
            modelmon.get_or_create_project(PROJECT, home=home, bundle_dir=REPO) as project:
        registry = AppRegistry(project.backend.kv, ProjectPaths(PROJECT), settings.base_period_minutes)
        for app in APPS:
            registry.register(app, app_class(app))
        endpoint = project.register_model_endpoint(MODEL, reference_data=reference, label_names=["prediction"],
                                                   reference_performance={"accuracy": REFERENCE_ACCURACY})
        port = runtime.status()[names["serving"]].triggers[0]["port"]

        # every request lands in one window, with time left in it to label them before it closes
        wait_for("a minute with 20 s left", lambda: now_ms() % MINUTE < LATEST_SEND_MS, timeout_s=25)
        window = now_ms() // MINUTE * MINUTE
        rows = np.random.default_rng(5).choice(len(iris.data), size=REQUESTS, replace=False)
        ids = [f"iris-{i}" for i in range(REQUESTS)]
        answers = [request(port, "POST", {"inputs": [iris.data[row].tolist()], "id": rid})
                   for rid, row in zip(ids, rows, strict=True)]
        served = request(port, "GET")
        assert served[1]["endpoint_id"] == endpoint.endpoint_id, "the server tracks another endpoint than registered"

        wait_for("tracked requests ingested",
                 lambda: project.get_model_endpoint(endpoint.endpoint_id).request_count == REQUESTS, timeout_s=15)
        predictions = [body["outputs"][0] for _, body in answers]
        truth = [p if i % 4 else (p + 1) % 3 for i, p in enumerate(predictions)]  # every 4th label is wrong
        project.log_labels(MODEL, ids, truth)
        wait_for("labels matched", lambda: label_counts(project.backend, PROJECT, endpoint.endpoint_id)
                 == {"matched": REQUESTS, "pending": 0}, timeout_s=15)
        # the labels arrived before the window was analysed (the pipeline has no re-analysis)
        analysed_early = result_history(project.backend, PROJECT, endpoint_id=endpoint.endpoint_id)
        labelled_at = now_ms()

        def done() -> bool:
            failures = app_failures(project.backend, PROJECT)
            assert failures.empty, failures.to_dict("records")
            history = result_history(project.backend, PROJECT, endpoint_id=endpoint.endpoint_id)
            return set(history["app_name"]) == set(APPS)

        wait_for("both apps' results for the window", done, timeout_s=90)
        yield {"project": project, "endpoint": endpoint, "window": window, "ids": ids, "answers": answers,
               "served": served, "predictions": predictions, "truth": truth, "labelled_at": labelled_at,
               "analysed_early": analysed_early, "status": runtime.status()}


def test_the_server_answered_and_tracked_to_the_registered_endpoint(run):
    assert {status for status, _ in run["answers"]} == {200}
    assert all(len(body["outputs"]) == 1 and body["outputs"][0] in (0, 1, 2) for _, body in run["answers"])
    assert [body["id"] for _, body in run["answers"]] == run["ids"]
    status, served = run["served"]
    endpoint_id = run["endpoint"].endpoint_id
    assert status == 200 and served["endpoint_id"] == endpoint_id
    assert run["endpoint"].function_uri == default_function_uri(PROJECT)
    assert served["tracking"]["dropped"] == 0
    endpoint = run["project"].get_model_endpoint(endpoint_id)
    assert endpoint.request_count == REQUESTS and endpoint.feature_names == FEATURES
    assert len(run["project"].list_model_endpoints()) == 1  # no second, unregistered endpoint
    assert all(s.alive and s.restarts == 0 for s in run["status"].values()), run["status"]


def test_the_window_holds_every_request_and_its_label(run):
    project, endpoint_id, window = run["project"], run["endpoint"].endpoint_id, run["window"]
    samples = project.backend.samples.read(endpoint_id, window, window + MINUTE)
    assert sorted(samples["request_id"]) == sorted(run["ids"])
    assert dict(zip(samples["request_id"], samples["prediction"].astype(int), strict=True)) == dict(
        zip(run["ids"], run["predictions"], strict=True))
    labels = load_window_labels(project.backend, PROJECT, endpoint_id, window, window + MINUTE)
    assert dict(zip(labels["request_id"], labels["label"], strict=True)) == dict(
        zip(run["ids"], run["truth"], strict=True))
    assert run["analysed_early"].empty  # the labels were in before the window was analysed
    assert run["labelled_at"] < window + MINUTE


def test_only_the_served_window_was_analysed_once_per_app(run):
    history = result_history(run["project"].backend, PROJECT, endpoint_id=run["endpoint"].endpoint_id)
    assert set(zip(history["app_name"], history["start_ms"], history["end_ms"], strict=True)) == {
        (app, run["window"], run["window"] + MINUTE) for app in APPS}
    assert not history.duplicated(["app_name", "result_name"]).any()


def test_histogram_drift_has_a_real_status_and_the_in_process_value(run):
    project, endpoint_id, window = run["project"], run["endpoint"].endpoint_id, run["window"]
    endpoint = project.get_model_endpoint(endpoint_id)
    got = latest_results(project.backend, PROJECT, endpoint_id=endpoint_id, app_name="histogram-data-drift")
    assert sorted(got["result_name"]) == ["drifted_features_share", "general_drift"]
    assert (got["status_name"] != "irrelevant").all(), got[["result_name", "status_name"]]
    assert (got["start_ms"] == window).all()
    samples = project.backend.samples.read(endpoint_id, window, window + MINUTE)
    expected = HistogramDataDriftApplication().evaluate(
        samples, feature_stats=endpoint.feature_stats, start=window, end=window + MINUTE,
        feature_names=endpoint.feature_names, label_names=endpoint.label_names, error_count=0,
        model_endpoint=endpoint.to_dict())
    expected = expected[expected["type"] == "result"].set_index("name")
    for name, value, status in got[["result_name", "value", "status"]].itertuples(index=False):
        assert math.isclose(value, expected.loc[name, "value"], rel_tol=1e-9, abs_tol=1e-12), name
        assert status == int(expected.loc[name, "status"]), name


def test_model_performance_reflects_the_labels(run):
    project, endpoint_id, window = run["project"], run["endpoint"].endpoint_id, run["window"]
    got = latest_results(project.backend, PROJECT, endpoint_id=endpoint_id,
                         app_name="model-performance").set_index("result_name")
    assert (got["start_ms"] == window).all()
    accuracy = got.loc["accuracy"]
    assert accuracy["value"] == pytest.approx(0.75)  # 10 of the 40 labels disagree with the prediction
    assert accuracy["extra_data"]["labeled_rows"] == REQUESTS  # every request of the window was labelled
    assert accuracy["extra_data"]["degradation"] == pytest.approx(REFERENCE_ACCURACY - 0.75)
    assert accuracy["status_name"] == "detected"  # a 0.2 drop is past the 0.1 threshold
    metrics = project.backend.tsdb.read(ProjectPaths(PROJECT).metrics_tsdb, window, window + 2 * MINUTE,
                                        filters={"endpoint_id": endpoint_id, "app_name": "model-performance"})
    assert metrics[["metric_name", "value"]].values.tolist() == [["labeled_rows", REQUESTS]]
    # and every result is what the app gives in this process on the stored rows and labels
    endpoint = project.get_model_endpoint(endpoint_id)
    samples = project.backend.samples.read(endpoint_id, window, window + MINUTE)
    labels = load_window_labels(project.backend, PROJECT, endpoint_id, window, window + MINUTE)
    expected = ModelPerformanceApplication().evaluate(
        samples, feature_stats=endpoint.feature_stats, start=window, end=window + MINUTE,
        feature_names=endpoint.feature_names, label_names=endpoint.label_names, error_count=0,
        model_endpoint=endpoint.to_dict(), labels_df=labels)
    expected = expected[expected["type"] == "result"].set_index("name")
    assert sorted(got.index) == sorted(expected.index)
    for name in expected.index:
        assert math.isclose(got.loc[name, "value"], expected.loc[name, "value"], rel_tol=1e-9, abs_tol=1e-12), name
        assert got.loc[name, "status"] == int(expected.loc[name, "status"]), name
