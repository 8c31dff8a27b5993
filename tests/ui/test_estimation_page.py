"""The endpoint page's estimated performance: the performance-estimation app, registered with a reference
parquet as a deployed app is, runs on stored traffic; labels are matched for two of its four windows, one
before it is analysed and one after (then model-performance measures it); the API's
``performance_estimation`` and the page (in headless Chromium) show the estimates with their band next to
the realized values where labels exist."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from stored_traffic import store_requests
from ui_browser import api_json, open_page, served

from modelmon.apps.registry import AppRegistry
from modelmon.apps.runner.loader import load_app
from modelmon.apps.runner.runner import AppRunner
from modelmon.backends import make_backend
from modelmon.core.config import Settings
from modelmon.core.paths import ProjectPaths
from modelmon.endpoints.registration import register_model_endpoint
from modelmon.events import LabelsEvent, WindowEvent
from modelmon.labels.matching import handle_labels_record
from modelmon.writer import ResultWriter
from tests.apps.estimation_traffic import classified_traffic, realized_accuracy

PROJECT = "scoring"
PATHS = ProjectPaths(PROJECT)
PERIOD = 600_000
T0 = 1_764_516_000_000
ROWS = 1500
NOW = T0 + 4 * PERIOD + 60_000
APP = "performance-estimation"
CLASS = "modelmon.apps.builtin.performance_estimation:PerformanceEstimationApplication"
LABELLED = (1, 3)  # windows with labels: 1's arrive before it is analysed, 3's after (model-performance then)
LATE = 3
MEASURE = "model-performance"
MEASURE_CLASS = "modelmon.apps.builtin.model_performance:ModelPerformanceApplication"
SPREADS = (1.5, 1.5, 0.4, 0.4)  # windows 2 and 3 sit near the decision boundary: accuracy drops


def _window(k: int) -> pd.DataFrame:
    frame = classified_traffic(np.random.default_rng(20 + k), ROWS, spread=SPREADS[k])
    return frame.assign(timestamp=T0 + k * PERIOD + np.arange(ROWS) * (PERIOD // ROWS),
                        request_id=[f"w{k}-{i}" for i in range(ROWS)], latency_us=1000.0)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("estimation") / "home"
    reference = classified_traffic(np.random.default_rng(0), 5000)
    reference_path = home.parent / "reference.parquet"
    reference.to_parquet(reference_path)
    kwargs = {"reference_data": str(reference_path)}
    backend = make_backend(Settings(home=str(home), project=PROJECT))
    try:
        AppRegistry(backend.kv, PATHS).register(APP, CLASS, kwargs=kwargs)
        endpoint = register_model_endpoint(backend, PROJECT, "scorer", reference_data=reference[["x0", "x1"]],
                                           label_names=["prediction"])
        runner = AppRunner(load_app(CLASS, kwargs), APP, backend, PATHS)
        measure = AppRunner(load_app(MEASURE_CLASS, {}), MEASURE, backend, PATHS)
        writer = ResultWriter(backend, PATHS, clock=lambda: NOW)
        for k in range(4):
            frame = _window(k)
            stored = frame.drop(columns=["label"])  # the model server does not know the truth
            store_requests(backend, PATHS, endpoint.endpoint_id, f"b{k}", stored, frame["timestamp"].to_numpy(),
                           frame["latency_us"].to_numpy(), np.zeros(ROWS, dtype=bool))
            window = (T0 + k * PERIOD, T0 + (k + 1) * PERIOD)
            if k == LATE:
                writer.write(runner.analyse(WindowEvent(PROJECT, endpoint.endpoint_id, APP, *window, "scorer")))
            if k in LABELLED:
                ids = frame["request_id"].tolist()
                body = LabelsEvent(endpoint.endpoint_id, ["label"], ids, [[int(v)] for v in frame["label"]],
                                   [NOW] * ROWS, frame["timestamp"].astype(int).tolist()).to_body()
                assert handle_labels_record(backend, PROJECT, body, f"labels-{k}").matched == ROWS
            if k == LATE:  # labels after the estimate: model-performance measures the window
                writer.write(measure.analyse(WindowEvent(PROJECT, endpoint.endpoint_id, MEASURE, *window, "scorer")))
            else:
                writer.write(runner.analyse(WindowEvent(PROJECT, endpoint.endpoint_id, APP, *window, "scorer")))
    finally:
        backend.close()
    return home


def _estimation(home) -> dict:
    return api_json(home, PROJECT, "/api/endpoints/scorer", NOW, since=str(T0))["performance_estimation"]


def test_the_endpoint_object_carries_estimates_bands_and_realized_values(home):
    estimation = _estimation(home)
    assert estimation["app"] == APP
    assert [m["metric"] for m in estimation["metrics"]] == ["accuracy", "precision", "recall", "f1", "roc_auc"]
    accuracy = estimation["metrics"][0]
    reference = classified_traffic(np.random.default_rng(0), 5000)
    assert accuracy["reference"] == pytest.approx(realized_accuracy(reference), abs=1e-5)
    points = accuracy["points"]
    assert [p["end_ms"] for p in points] == [T0 + (k + 1) * PERIOD for k in range(4)]
    for k, point in enumerate(points):
        truth = realized_accuracy(_window(k))
        assert point["lower"] < point["estimate"] < point["upper"]
        assert point["estimate"] == pytest.approx(truth, abs=0.04)
        if k in LABELLED:
            assert point["realized"] == pytest.approx(truth, abs=1e-5)
            assert point["realized_source"] == (MEASURE if k == LATE else APP)
        else:
            assert point["realized"] is None and point["realized_source"] is None
    assert [p["status"] for p in points] == [0, 0, 2, 2]  # the harder windows fall below the reference's band


@pytest.mark.slow
def test_the_endpoint_page_shows_estimated_against_realized(home, browser, shots):
    estimation = _estimation(home)
    with served(home, PROJECT) as url:
        page, watch = open_page(browser, url + "/endpoints/scorer?since=" + str(T0))
        section = page.locator("#estimation")
        section.scroll_into_view_if_needed()
        section.screenshot(path=shots / "estimation.png")
        page.screenshot(path=shots / "endpoint_estimation.png", full_page=True)
        rows = page.locator("#estimation-table tbody tr")
        assert rows.evaluate_all("rs => rs.map(r => r.dataset.metric)") == [
            m["metric"] for m in estimation["metrics"]]
        latest = estimation["metrics"][0]["points"][-1]
        cells = rows.first.locator("td").all_inner_texts()
        assert cells[0] == "accuracy"
        assert float(cells[1]) == pytest.approx(latest["estimate"], abs=1e-3)
        assert float(cells[4].split()[0]) == pytest.approx(latest["realized"], abs=1e-3)
        assert float(cells[5]) == pytest.approx(latest["estimate"] - latest["realized"], abs=2e-3)
        assert cells[6] == "detected"
        recall = rows.nth(2).locator("td").all_inner_texts()  # model-performance measures no recall
        assert recall[0] == "recall" and recall[4] == "—" and recall[5] == "—"
        chart = page.locator(".estimation-chart[data-metric=accuracy]")
        assert chart.get_attribute("data-realized") == "2" and chart.get_attribute("data-points") == "4"
        assert page.locator("nav.section-nav a[href='#estimation']").inner_text() == "Estimated performance"
        assert watch.problems == []
        page.close()
