"""The endpoint page's drift ranking: the histogram app, registered with ``segment_by`` and a reference
parquet as a deployed app is, runs on stored traffic; the API's ``feature_drift.impact`` and the page (in
headless Chromium) show what it stored: the drifted features by drift × importance, the top culprit and
the worst segments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from stored_traffic import store_requests
from ui_browser import api_json, open_page, served

from modelmon.apps.builtin.histogram_drift import HistogramDataDriftApplication
from modelmon.apps.registry import AppRegistry
from modelmon.apps.runner.loader import load_app
from modelmon.apps.runner.runner import AppRunner
from modelmon.backends import make_backend
from modelmon.core.config import Settings
from modelmon.core.paths import ProjectPaths
from modelmon.endpoints.registration import register_model_endpoint
from modelmon.events import WindowEvent
from modelmon.writer import ResultWriter
from tests.apps.segment_traffic import FEATURES, traffic

PROJECT = "regions"
PATHS = ProjectPaths(PROJECT)
PERIOD = 600_000
T0 = 1_764_516_000_000
ROWS = 3000
NOW = T0 + 3 * PERIOD + 60_000
APP = "histogram-data-drift"
CLASS = "modelmon.apps.builtin.histogram_drift:HistogramDataDriftApplication"


def _window(k: int) -> pd.DataFrame:
    """Windows 0 and 1 as the reference; window 2: region e's f0 and f1 up one sigma, f2 and f3 up 0.6 and
    0.5 sigma everywhere (features the prediction uses a little, and hardly)."""
    frame = traffic(100 + k, ROWS, shifted_region="e" if k == 2 else None)
    if k == 2:
        frame["f2"] += 0.6
        frame["f3"] += 0.5
    return frame.assign(timestamp=T0 + k * PERIOD + np.arange(ROWS) * (PERIOD // ROWS),
                        request_id=[f"w{k}-{i}" for i in range(ROWS)], latency_us=1000.0)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("impact") / "home"
    reference = traffic(0, 10_000)
    reference_path = home.parent / "reference.parquet"
    reference.to_parquet(reference_path)
    kwargs = {"reference_data": str(reference_path), "segment_by": ["region"]}
    backend = make_backend(Settings(home=str(home), project=PROJECT))
    try:
        AppRegistry(backend.kv, PATHS).register(APP, CLASS, kwargs=kwargs)
        endpoint = register_model_endpoint(backend, PROJECT, "churn", reference_data=reference[FEATURES],
                                           label_names=["prediction"])
        runner = AppRunner(load_app(CLASS, kwargs), APP, backend, PATHS)
        writer = ResultWriter(backend, PATHS, clock=lambda: NOW)
        for k in range(3):
            frame = _window(k)
            store_requests(backend, PATHS, endpoint.endpoint_id, f"b{k}", frame, frame["timestamp"].to_numpy(),
                           frame["latency_us"].to_numpy(), np.zeros(ROWS, dtype=bool))
            writer.write(runner.analyse(WindowEvent(PROJECT, endpoint.endpoint_id, APP, T0 + k * PERIOD,
                                                    T0 + (k + 1) * PERIOD, "churn")))
        _wide(backend, writer)
    finally:
        backend.close()
    return home


def _wide(backend, writer) -> None:
    """``wide``: twelve features, all moved by one sigma in its only window, no importance known."""
    rng = np.random.default_rng(7)
    names = [f"x{i:02d}" for i in range(12)]
    endpoint = register_model_endpoint(backend, PROJECT, "wide", reference_data=pd.DataFrame(
        {n: rng.normal(0, 1, 2000) for n in names}))
    frame = pd.DataFrame({n: rng.normal(1.0 + i / 10, 1, ROWS) for i, n in enumerate(names)}).assign(
        timestamp=T0 + np.arange(ROWS) * (PERIOD // ROWS), request_id=[f"x{i}" for i in range(ROWS)],
        latency_us=1000.0)
    store_requests(backend, PATHS, endpoint.endpoint_id, "wide", frame, frame["timestamp"].to_numpy(),
                   frame["latency_us"].to_numpy(), np.zeros(ROWS, dtype=bool))
    runner = AppRunner(HistogramDataDriftApplication(), APP, backend, PATHS)
    writer.write(runner.analyse(WindowEvent(PROJECT, endpoint.endpoint_id, APP, T0, T0 + PERIOD, "wide")))


def _impact(home) -> dict:
    return api_json(home, PROJECT, "/api/endpoints/churn", NOW)["feature_drift"]["impact"]


def test_the_endpoint_object_carries_the_latest_ranking_and_worst_segments(home):
    impact = _impact(home)
    assert impact["app"] == APP and impact["window"] == {"start_ms": T0 + 2 * PERIOD, "end_ms": T0 + 3 * PERIOD}
    assert impact["importance_source"] == "mutual information with 'prediction' on 10000 reference rows"
    ranking = impact["ranking"]
    assert [r["feature"] for r in ranking] == ["f2", "f3"] and impact["top_culprit"] == "f2"
    assert all(r["impact"] == pytest.approx(r["drift"] * r["importance"], rel=1e-5) for r in ranking)
    segments = impact["segments"]
    assert segments["segment_by"] == ["region"] and segments["worst_segment"] == "region=e"
    worst = segments["worst_segments"][0]
    assert (worst["segment"], worst["status"], worst["top_culprit"]) == ("region=e", 2, "f0")


@pytest.mark.slow
def test_the_endpoint_page_shows_the_ranking_top_culprit_and_worst_segments(home, browser, shots):
    impact = _impact(home)
    with served(home, PROJECT) as url:
        page, watch = open_page(browser, url + "/endpoints/churn?since=" + str(T0))
        panel = page.locator("#drift-impact")
        panel.scroll_into_view_if_needed()
        panel.screenshot(path=shots / "drift_impact.png")
        page.screenshot(path=shots / "endpoint_drift_impact.png", full_page=True)
        assert page.inner_text("#top-culprit").startswith("Top culprit: f2")
        rows = page.locator("#impact-table tbody tr")
        assert rows.evaluate_all("rs => rs.map(r => r.dataset.feature)") == [r["feature"] for r in impact["ranking"]]
        first = rows.first.locator("td").all_inner_texts()
        assert first[0] == "f2" and float(first[1]) == pytest.approx(impact["ranking"][0]["drift"], rel=1e-3)
        segments = page.locator("#worst-segments tbody tr")
        assert segments.first.get_attribute("data-segment") == "region=e"
        assert segments.first.locator("td").nth(1).inner_text() == "detected"
        assert segments.first.locator("td").last.inner_text() == "f0"
        assert page.locator("#histogram").get_attribute("data-feature") == "f2"  # the most drifted, first
        rows.nth(1).click()  # another ranked feature's histograms, in the ranking's window
        page.wait_for_selector('#histogram[data-feature="f3"]')
        assert page.locator("#histogram").get_attribute("data-start") == str(impact["window"]["start_ms"])
        assert watch.problems == []
        page.close()


@pytest.mark.slow
def test_a_long_ranking_shows_ten_rows_until_asked_and_without_importance_ranks_by_drift(home, browser, shots):
    with served(home, PROJECT) as url:
        page, watch = open_page(browser, url + "/endpoints/wide?since=" + str(T0))
        rows = page.locator("#impact-table tbody tr")
        assert rows.count() == 12 and page.locator("#impact-table tbody tr:visible").count() == 10
        assert "no importance known" in page.inner_text("#top-culprit")
        assert rows.first.get_attribute("data-feature") == "x11"  # moved most
        assert rows.first.locator("td").nth(2).inner_text() == "—"
        page.click("#impact-more")
        assert page.locator("#impact-table tbody tr:visible").count() == 12
        assert page.locator("#worst-segments").count() == 0  # this app has no segment_by
        page.locator("#drift-impact").screenshot(path=shots / "drift_impact_wide.png")
        assert watch.problems == []
        page.close()
