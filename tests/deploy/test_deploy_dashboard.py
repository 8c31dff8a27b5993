from __future__ import annotations

import copy
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
from modelmon.deploy.code_source import apply_source, parse_source
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


# ------------------------------------------- what the test dashboard's builder refuses, as Nuclio's does

def build_outcome(dashboard, config) -> dict:
    """POST ``config`` as nuclio-jupyter does, then read its status until the build is over."""
    requests.post(f"{dashboard.url}/api/projects", json={"metadata": {"name": "fraud"}}, timeout=10)
    name = config["metadata"]["name"]
    created = requests.post(f"{dashboard.url}/api/functions", json=config, timeout=10,
                            headers={"x-nuclio-project-name": "fraud"})
    assert created.status_code == 202, created.text
    for _ in range(dashboard.building_polls + 1):
        status = requests.get(f"{dashboard.url}/api/functions/{name}", timeout=10).json()["status"]
    return status


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda spec: spec["build"].pop("path"),
         "Function must have either spec.build.path,spec.build.functionSourceCode, spec.build.image or spec.image"),
        (lambda spec: spec["build"].update(codeEntryType="git", path="https://g.example/m.git"),
         "Git code entry attributes must exist when cloning function from git"),
        (lambda spec: spec["build"].update(codeEntryType="git", path="https://g.example/m.git",
                                           codeEntryAttributes={"workDir": "/"}),
         "No git reference was specified. (must specify branch/tag/reference)"),
        (lambda spec: spec["build"].update(path="modelmon-bundle.tar.gz"),
         "Must provide valid URL when code entry type is github or archive"),
        (lambda spec: spec["build"].update(codeEntryType="zip"), "Unsupported code entry type: zip"),
        (lambda spec: spec["build"].update(functionSourceCode="not base64!"), "Failed to decode function source code"),
        # embedded code: /opt/nuclio holds only that file
        (lambda spec: spec["build"].update(functionSourceCode="cHJpbnQoMSkK"),
         "ERROR: Directory '/opt/nuclio' is not installable. Neither 'setup.py' nor 'pyproject.toml' found."),
        (lambda spec: spec["build"].update(functionSourceCode="cHJpbnQoMSkK",
                                           commands=['pip install --no-cache-dir "/home/me/modelmon"']),
         "ERROR: Invalid requirement: '/home/me/modelmon': It looks like a path."),
    ],
)
def test_the_dashboard_fails_a_build_nuclio_would_fail(bundle, dashboard, change, message):
    (stream,) = rendered(bundle, ["stream"])
    change(stream.config["spec"])
    status = build_outcome(dashboard, stream.config)
    assert status["state"] == "error"
    assert message in status["message"]


def test_the_dashboard_builds_each_code_entry(bundle, dashboard):
    (stream,) = rendered(bundle, ["stream"])
    for source in (SOURCE, "image:registry.example/mm:1"):
        config = copy.deepcopy(stream.config)
        config["metadata"]["name"] = f"fraud-stream-{source.partition(':')[0]}"
        apply_source(config, parse_source(source))
        assert build_outcome(dashboard, config)["state"] == "ready", source


def test_a_config_naming_no_code_is_refused_before_it_is_sent(bundle, dashboard):
    (writer,) = render_bundle(bundle, Settings(project="fraud", backend="v3io"), functions=["writer"])
    with pytest.raises(ValueError, match=r"function 'writer': its config names no code\. a Nuclio dashboard gets "
                                         r"only the function configs"):
        deploy_function(writer, dashboard.url)
    assert dashboard.received == []
