"""The Grafana dashboards under ``dashboards/``: well-formed, on the Prometheus data source variable, and
reading only metrics ``/metrics`` emits (their queries run on a real Prometheus in test_prometheus_server)."""

from __future__ import annotations

import httpx
import pytest
from dashboard_queries import dashboards, expressions, filled, metric_names, panels, variable_expression
from prometheus_home import build_home
from prometheus_server import serve
from prometheus_text import parse

from modelmon.ui.app import create_app
from modelmon.ui.metrics_catalog import FAMILIES

DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
#: What MLRun's four dashboards show, each covered by one of ours.
EXPECTED = {"modelmon-overview.json", "modelmon-endpoint-details.json", "modelmon-performance.json",
            "modelmon-applications.json"}


def test_the_tokenizer_finds_metrics_only():
    assert metric_names('sum by (endpoint_id, app) (rate(modelmon_a_total{project="$project", x=~"a|b"}[5m])) '
                        "/ on (endpoint_id) group_left(model) modelmon_b * 1e6 > bool 2") == {"modelmon_a_total",
                                                                                          "modelmon_b"}
    assert metric_names('count(modelmon_c{app="by"} == 2) or vector(0) offset 5m') == {"modelmon_c"}
    assert metric_names("max(modelmon_d[${__range}]) without (job)") == {"modelmon_d"}
    assert variable_expression('label_values(modelmon_e{project="$project"}, app)') == 'modelmon_e{project="$project"}'
    values = {"project": "p", "app": ".*", "__rate_interval": "1m"}
    assert filled('x{a="$project", b=~"${app}"}[$__rate_interval]', values) == 'x{a="p", b=~".*"}[1m]'


def test_every_dashboard_is_well_formed():
    found = dashboards()
    assert set(found) == EXPECTED
    assert len({d["uid"] for d in found.values()}) == len(found)
    for name, dashboard in found.items():
        variables = {v["name"]: v for v in dashboard["templating"]["list"]}
        assert variables["DS_PROMETHEUS"]["type"] == "datasource", name
        assert variables["DS_PROMETHEUS"]["query"] == "prometheus", name
        assert variables["project"]["type"] == "query", name
        ids = [p["id"] for p in panels(dashboard)]
        assert len(ids) == len(set(ids)), name
        for panel in panels(dashboard):
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24 and grid["h"] > 0, (name, panel["title"])
            if panel["type"] == "row":
                continue
            assert panel["datasource"] == DATASOURCE and panel["targets"], (name, panel["title"])
            assert panel["description"], (name, panel["title"])
            assert all(t["datasource"] == DATASOURCE and t["expr"].strip() for t in panel["targets"])
        for variable in variables.values():
            if variable["type"] == "query":
                assert variable["datasource"] == DATASOURCE, (name, variable["name"])


@pytest.fixture
def page(home):
    built = build_home(home)
    try:
        with serve(create_app(built.context())) as url:
            yield parse(httpx.get(f"{url}/metrics", timeout=60).text)
    finally:
        built.close()


def test_every_query_reads_metrics_the_exporter_emits(page):
    """Each dashboard query names at least one metric, each a metric of the catalogue that has samples on
    the page of a home with data; and every metric of the catalogue but the exporter's own is charted."""
    catalogue = {f.name for f in FAMILIES}
    charted: set[str] = set()
    for name, dashboard in dashboards().items():
        for where, promql in expressions(dashboard):
            names = metric_names(promql)
            assert names, f"{name} {where}: no metric in {promql!r}"
            assert names <= catalogue, f"{name} {where}: unknown metric(s) {names - catalogue}"
            charted |= names
    empty = {n for n in charted if not page[n].samples}
    assert not empty, f"charted but without samples on /metrics: {empty}"
    assert catalogue - charted == {"modelmon_exporter_read_seconds"}
