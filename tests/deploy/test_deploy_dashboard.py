from __future__ import annotations

import json

import pytest
import requests
from deploy_paths import REPO, SOURCE

from modelmon.core.config import Settings
from modelmon.deploy import (
    DeploymentFailed,
    delete_function,
    deploy_all,
    deploy_function,
    function_state,
    render_bundle,
)
from modelmon.functions.roles import ROLE_LABEL, Role

pytestmark = pytest.mark.slow  # nuclio-jupyter polls the dashboard once a second


def rendered(bundle, functions=None):
    return render_bundle(bundle, Settings(project="fraud", base_period_minutes=5, backend="v3io"),
                         functions=functions, source=SOURCE)


def test_the_whole_bundle_reaches_ready_with_the_rendered_configs(bundle, dashboard):
    functions = rendered(bundle)
    states = deploy_all(functions, dashboard.url)
    assert [(s.function, s.state) for s in states] == [(f.function, "ready") for f in functions]
    assert all(s.internal_urls == (f"nuclio-{s.name}.nuclio.svc.cluster.local:8080",) for s in states)
    assert list(dashboard.projects) == ["fraud"]
    assert [(method, doc["metadata"]["name"]) for method, doc in dashboard.received] == [
        ("POST", f.name) for f in functions
    ]
    for function, (_, received) in zip(functions, dashboard.received, strict=True):
        assert received == function.config  # byte for byte what was rendered (project label included)
    assert function_state(dashboard.url, functions[0]).state == "ready"


def test_redeploying_updates_in_place(bundle, dashboard):
    (writer,) = rendered(bundle, ["writer"])
    deploy_function(writer, dashboard.url)
    writer.config["spec"]["triggers"]["results"]["numWorkers"] = 3
    assert deploy_function(writer, dashboard.url).state == "ready"
    assert [m for m, _ in dashboard.received] == ["POST", "PUT"]
    assert dashboard.config("fraud-writer")["spec"]["triggers"]["results"]["numWorkers"] == 3


def test_a_failed_deployment_names_the_function_and_the_dashboards_message(bundle, dashboard):
    dashboard.fail("fraud-controller", "Failed to pull image: registry.example/modelmon:missing not found")
    functions = rendered(bundle)
    with pytest.raises(DeploymentFailed) as info:
        deploy_all(functions, dashboard.url)
    assert info.value.function == "controller"
    assert str(info.value) == (
        "deploying function 'controller' failed: state error: "
        "Failed to pull image: registry.example/modelmon:missing not found"
    )
    (controller,) = (f for f in functions if f.function == "controller")
    assert function_state(dashboard.url, controller).state == "error"


def test_an_unreachable_dashboard_is_a_deployment_failure(bundle, dashboard):
    (writer,) = rendered(bundle, ["writer"])
    url = dashboard.url
    dashboard.stop()
    with pytest.raises(DeploymentFailed, match="writer"):
        deploy_function(writer, url)


def test_delete_and_invoke(bundle, dashboard):
    (writer,) = rendered(bundle, ["writer"])
    deploy_function(writer, dashboard.url)
    reply = requests.post(f"{dashboard.url}/api/function_invocations", data=b'{"x": 1}',
                          headers={"x-nuclio-function-name": "fraud-writer", "x-nuclio-path": "/ping"}, timeout=10)
    assert reply.status_code == 200
    assert json.loads(reply.content) == {"function": "fraud-writer", "path": "/ping", "body": '{"x": 1}'}
    assert delete_function(dashboard.url, "fraud-writer") is True
    assert delete_function(dashboard.url, "fraud-writer") is False
    assert dashboard.deleted == ["fraud-writer"]
    assert function_state(dashboard.url, writer).state == "missing"


def test_bad_dashboard_url_is_a_value_error(bundle):
    (writer,) = rendered(bundle, ["writer"])
    with pytest.raises(ValueError, match="dashboard_url 'localhost:8070'"):
        deploy_function(writer, "localhost:8070")


def test_the_repository_bundle_deploys(dashboard):
    functions = render_bundle(REPO, Settings(project="quick", base_period_minutes=10, backend="v3io"), source=SOURCE)
    states = deploy_all(functions, dashboard.url)
    assert {s.state for s in states} == {"ready"}
    assert sorted(doc["metadata"]["name"] for _, doc in dashboard.received) == sorted(f.name for f in functions)
    deployed = {doc["metadata"]["labels"][ROLE_LABEL] for _, doc in dashboard.received}
    assert set(Role.core_roles()) <= deployed, sorted(deployed)
