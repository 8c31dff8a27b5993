"""A real Prometheus (Debian's package) scrapes ``modelmon ui``'s ``/metrics`` every second; PromQL through its
HTTP API returns what the writer stored, and accepts (with data) every query of the Grafana dashboards."""

from __future__ import annotations

import pytest
from dashboard_queries import dashboards, expressions, filled, variable_expression, variable_options, variables
from prometheus_home import DRIFT, ODD_NAME, PERF, PROJECT, build_home
from prometheus_server import JOB, Prometheus, serve

from modelmon.ui.app import create_app

pytestmark = pytest.mark.slow
TOKEN = "prom-s3cret"


@pytest.fixture(params=[None, TOKEN], ids=["open", "token"])
def scraped(request, home, tmp_path):
    """The home served by ``create_app`` (with the token or without), and a Prometheus scraping it."""
    built = build_home(home)
    context = built.context(token=request.param)
    try:
        with serve(create_app(context)) as url:
            prometheus = Prometheus(tmp_path, url.removeprefix("http://"), token=request.param)
            try:
                prometheus.wait_until_up()
                yield built, prometheus
            finally:
                prometheus.stop()
    finally:
        built.close()


def test_promql_returns_what_the_writer_stored(scraped):
    built, prometheus = scraped
    (series,) = prometheus.wait_for(
        f'modelmon_result_value{{project="{PROJECT}", endpoint_id="{built.churn}", app="{DRIFT}", '
        'result="general_drift"}')
    assert float(series["value"][1]) == 0.625
    assert series["metric"] | {"instance": ""} == {
        "__name__": "modelmon_result_value", "job": JOB, "instance": "", "project": PROJECT,
        "endpoint_id": built.churn, "endpoint": "churn", "model": "churn", "app": DRIFT, "result": "general_drift",
        "kind": "data_drift"}
    (status,) = prometheus.wait_for(f'modelmon_endpoint_drift_status{{endpoint_id="{built.churn}"}}')
    assert status["value"][1] == "2"
    (odd,) = prometheus.wait_for(f'modelmon_endpoint_info{{endpoint_id="{built.odd}"}}')
    assert odd["metric"]["endpoint"] == ODD_NAME  # escaped by the exporter, read back by Prometheus
    (requests,) = prometheus.wait_for(f'sum(modelmon_endpoint_requests_total{{project="{PROJECT}"}})')
    assert requests["value"][1] == "7"


def test_a_wrong_token_is_refused(home, tmp_path):
    built = build_home(home)
    try:
        with serve(create_app(built.context(token=TOKEN))) as url:
            prometheus = Prometheus(tmp_path, url.removeprefix("http://"), token="not-the-token")
            try:
                target = prometheus.wait_for_target(lambda t: t["lastError"] != "")
            finally:
                prometheus.stop()
    finally:
        built.close()
    assert target["health"] == "down" and "401" in target["lastError"]


@pytest.mark.parametrize("scraped", [None], indirect=True, ids=["open"])
def test_every_dashboard_query_runs_and_finds_data(scraped):
    """Grafana's variables filled in as a user would pick them (the endpoint with data, every app)."""
    built, prometheus = scraped
    prometheus.wait_for("count_over_time(modelmon_endpoints[1m]) >= 3")  # rates need a few scrapes
    values = {"project": PROJECT, "endpoint": built.churn, "app": ".*", "measure": ".*", "__rate_interval": "1m",
              "__range": "1h"}
    failures = []
    for name, dashboard in dashboards().items():
        for where, promql in expressions(dashboard):
            answer = prometheus.query(filled(promql, values))
            if answer["status"] != "success":
                failures.append(f"{name} {where}: {answer.get('error')}")
            elif not answer["data"]["result"]:
                failures.append(f"{name} {where}: no data for {filled(promql, values)}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("scraped", [None], indirect=True, ids=["open"])
def test_the_variables_offer_what_a_user_picks_from(scraped):
    """Each variable's options as Grafana makes them from Prometheus' answer: projects, apps, and endpoints
    shown by name (a quote, backslash or newline in it included) with their ids as values."""
    built, prometheus = scraped
    values = {"project": PROJECT, "endpoint": ".*", "app": ".*"}
    options: dict[str, set[tuple[str, str]]] = {}
    for dashboard in dashboards().values():
        for name, variable in variables(dashboard).items():
            if variable["type"] != "query":
                continue
            query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
            chosen = values | ({"endpoint": built.churn} if name == "measure" else {})  # its endpoint is one
            expr = filled(variable_expression(query), chosen)
            series = [s["metric"] for s in prometheus.wait_for(expr)]
            found = set(variable_options(variable, series))
            assert options.setdefault(name, found) == found, f"{name} differs between dashboards"
    assert options["project"] == {(PROJECT, PROJECT)}
    assert options["endpoint"] == {("churn", built.churn), (ODD_NAME, built.odd)}
    assert {DRIFT, PERF} <= {value for _, value in options["app"]}
    assert {value for _, value in options["measure"]} == {"hellinger", "tvd", "status"}  # the churn endpoint's
