"""``GET /metrics``: a page in the Prometheus text format whose values are what the functions stored."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from prometheus_home import (
    BROKEN,
    CHURN_ERRORS,
    CHURN_LATENCIES_US,
    DRIFT,
    MINUTE,
    ODD_LATENCIES_US,
    ODD_NAME,
    PERF,
    PROJECT,
    WRITER_LAG,
    build_home,
)
from prometheus_server import serve
from prometheus_text import parse

from modelmon import queries
from modelmon.backends import make_backend
from modelmon.core.config import Settings
from modelmon.ui.app import create_app
from modelmon.ui.context import UIContext
from modelmon.ui.metrics_catalog import FAMILIES
from modelmon.ui.metrics_exposition import Family, Page

DOCS = Path(__file__).parents[2] / "docs" / "prometheus.md"


@pytest.fixture
def prom_home(home):
    built = build_home(home)
    yield built
    built.close()


def scrape(context: UIContext, query: str = "", **headers: str) -> httpx.Response:
    """``GET /metrics`` of the app served by uvicorn, as Prometheus fetches it."""
    with serve(create_app(context)) as url:
        return httpx.get(f"{url}/metrics{query}", headers=headers, timeout=60)


def test_page_holds_what_the_functions_stored(prom_home):
    h = prom_home
    response = scrape(h.context())
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    page = parse(response.text)
    assert [f.name for f in FAMILIES] == list(page)
    for family in FAMILIES:
        assert page[family.name].type == family.type
        assert all({name for name, _ in ls} == set(family.labels) for ls in page[family.name].samples), family.name

    churn, odd = {"endpoint_id": h.churn}, {"endpoint_id": h.odd}
    assert page["modelmon_endpoints"].value(project=PROJECT) == 2
    info = {ls["endpoint_id"]: ls for ls in page["modelmon_endpoint_info"].label_sets()}
    assert info[h.churn] | {"function_uri": ""} == {
        "project": PROJECT, "endpoint_id": h.churn, "endpoint": "churn", "model": "churn", "model_version": "3",
        "function_uri": ""}
    assert info[h.odd]["endpoint"] == ODD_NAME  # backslash, quote and newline escaped and read back
    assert page["modelmon_endpoint_requests_total"].value(**churn) == len(CHURN_LATENCIES_US)
    assert page["modelmon_endpoint_errors_total"].value(**churn) == CHURN_ERRORS
    assert page["modelmon_endpoint_requests_total"].value(**odd) == len(ODD_LATENCIES_US)
    assert page["modelmon_endpoint_errors_total"].value(**odd) == 0
    assert page["modelmon_endpoint_latency_seconds_total"].value(**churn) == sum(CHURN_LATENCIES_US) / 1e6
    latency_max = page["modelmon_endpoint_latency_max_seconds"].samples
    assert {dict(ls)["endpoint_id"]: v for ls, v in latency_max.items()} == {h.churn: max(CHURN_LATENCIES_US) / 1e6}
    last = h.now_ms - MINUTE + len(CHURN_LATENCIES_US) - 1
    assert page["modelmon_endpoint_last_request_timestamp_seconds"].value(**churn) == last / 1000
    assert page["modelmon_endpoint_drift_status"].value(**churn) == 2
    assert page["modelmon_endpoint_drift_status"].value(**odd) == 0

    drift = {**churn, "app": DRIFT, "result": "general_drift"}
    assert page["modelmon_result_value"].value(**drift) == 0.625
    assert page["modelmon_result_status"].value(**drift) == 2
    assert page["modelmon_result_window_end_timestamp_seconds"].value(**drift) == h.window_end_ms / 1000
    assert page["modelmon_result_threshold"].value(**drift, level="potential") == 0.3
    assert page["modelmon_result_threshold"].value(**drift, level="detected") == 0.5
    features = page["modelmon_result_feature_value"]
    assert features.value(**drift, feature="x", measure="hellinger") == 0.75
    assert features.value(**drift, feature="x", measure="status") == 2
    assert features.value(**odd, app=DRIFT, feature="x", measure="value") == 0.05
    p99 = {**churn, "app": PERF, "result": "latency_p99_us"}
    assert page["modelmon_result_value"].value(**p99) == 12_275.0
    assert [ls for ls in page["modelmon_result_value"].label_sets() if ls["app"] == PERF] == [{
        "project": PROJECT, "endpoint_id": h.churn, "endpoint": "churn", "model": "churn", "app": PERF,
        "result": "latency_p99_us", "kind": "system_performance"}]
    assert page["modelmon_app_metric"].value(**churn, app=DRIFT, metric="hellinger_mean") == 0.75
    assert page["modelmon_app_metric"].value(**churn, app=PERF, metric="request_count") == 4

    assert page["modelmon_app_enabled"].value(app=DRIFT) == 1
    assert page["modelmon_app_enabled"].value(app=PERF) == 0
    assert page["modelmon_app_failed_windows"].value(app=BROKEN) == 2
    assert page["modelmon_app_failed_windows_24h"].value(app=BROKEN) == 1
    assert page["modelmon_app_failed_windows"].value(app=DRIFT) == 0
    assert page["modelmon_service_up"].value(project=PROJECT) == 1
    writer, controller = {"function": "model-monitoring-writer"}, {"function": "model-monitoring-controller"}
    assert page["modelmon_function_up"].value(**writer, role="writer") == 1
    assert page["modelmon_function_up"].value(**controller, role="controller") == 0
    assert page["modelmon_function_restarts_total"].value(**controller) == 5
    assert page["modelmon_function_lag_records"].value(**writer) == WRITER_LAG
    assert len(page["modelmon_function_lag_records"].samples) == 1  # the controller reads no stream
    assert page["modelmon_exporter_read_seconds"].value(project=PROJECT) > 0


def test_every_stored_result_and_metric_is_on_the_page(prom_home):
    """Value and status of each latest result and metric, as the SDK's readers return them."""
    h = prom_home
    page = parse(scrape(h.context()).text)
    results = queries.latest_results(h.backend, PROJECT)
    assert len(results) == len(page["modelmon_result_value"].samples) == 4
    for r in results.itertuples():
        ls = {"endpoint_id": r.endpoint_id, "app": r.app_name, "result": r.result_name, "kind": r.kind_name}
        assert page["modelmon_result_value"].value(**ls) == r.value
        assert page["modelmon_result_status"].value(**ls) == r.status
        assert page["modelmon_result_window_end_timestamp_seconds"].value(**ls) == r.end_ms / 1000
    metrics = queries.latest_metrics(h.backend, PROJECT)
    assert len(metrics) == len(page["modelmon_app_metric"].samples) == 2
    for r in metrics.itertuples():
        assert page["modelmon_app_metric"].value(endpoint_id=r.endpoint_id, app=r.app_name,
                                                  metric=r.metric_name) == r.value


def test_features_false_leaves_out_the_per_feature_figures(prom_home):
    h = prom_home
    context = h.context()
    full, brief = parse(scrape(context).text), parse(scrape(context, "?features=false").text)
    features, own = "modelmon_result_feature_value", "modelmon_exporter_read_seconds"
    assert len(full[features].samples) == 4 and not brief[features].samples
    assert list(brief) == list(full)
    assert all(full[n].samples == brief[n].samples for n in full if n not in (features, own))
    refused = scrape(context, "?features=maybe")
    assert refused.status_code == 400 and refused.text == "features='maybe': expected true or false"


def test_the_token_guards_metrics(prom_home):
    h = prom_home
    context = h.context(token="s3cret-token")
    refused = scrape(context)
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert scrape(context, authorization="Bearer wrong").status_code == 401
    allowed = scrape(context, authorization="Bearer s3cret-token")
    assert allowed.status_code == 200
    assert parse(allowed.text)["modelmon_endpoints"].value(project=PROJECT) == 2


def test_an_empty_home_lists_every_metric_without_samples(home):
    settings = Settings(home=str(home), project="empty")
    backend = make_backend(settings)
    try:
        page = parse(scrape(UIContext(settings, backend, "empty")).text)
    finally:
        backend.close()
    assert list(page) == [f.name for f in FAMILIES]
    with_samples = {name for name, family in page.items() if family.samples}
    assert with_samples == {"modelmon_endpoints", "modelmon_service_up", "modelmon_exporter_read_seconds"}
    assert page["modelmon_endpoints"].value() == 0 and page["modelmon_service_up"].value() == 0


def test_a_family_refuses_bad_names_and_label_counts():
    with pytest.raises(ValueError, match="bad metric name"):
        Family("modelmon-x", "gauge", "x", ())
    with pytest.raises(ValueError, match="bad label name '__name'"):
        Family("modelmon_x", "gauge", "x", ("__name",))
    with pytest.raises(ValueError, match="type must be one of"):
        Family("modelmon_x", "histogram", "x", ())
    with pytest.raises(ValueError, match="1 label values expected, got 2"):
        Page().add(Family("modelmon_x", "gauge", "x", ("a",)), ("1", "2"), 1)


def test_docs_describe_every_metric():
    """docs/prometheus.md has one table row per metric: name, type and every label."""
    rows = {m[1]: m[2] for m in re.finditer(r"^\| `(modelmon_\w+)` \| (.*)$", DOCS.read_text(), re.MULTILINE)}
    assert set(rows) == {f.name for f in FAMILIES}
    for family in FAMILIES:
        cells = [c.strip() for c in rows[family.name].split("|")]
        assert cells[0] == family.type, family.name
        assert set(re.findall(r"`(\w+)`", cells[1])) == set(family.labels), family.name
