from __future__ import annotations

import copy
import importlib

import pytest
import yaml
from deploy_paths import BUNDLE, REPO

from modelmon.core.errors import ConfigError
from modelmon.deploy import check_config, validate_config
from modelmon.deploy.render import load_templates, role_template
from modelmon.deploy.schema import bundle_targets
from modelmon.functions.roles import Role, role_of

SKIP_DIRS = {".venv", "tests", "build", "dist", "node_modules"}


def repo_function_files() -> list:
    """Every deployable function.yaml committed in the repository (test fixtures excluded)."""
    return sorted(
        p for p in REPO.rglob("function.yaml")
        if not SKIP_DIRS.intersection(p.relative_to(REPO).parts) and not any(
            part.startswith(".") for part in p.relative_to(REPO).parts)
    )


def load(path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_the_bundle_has_one_function_per_core_role():
    templates = load_templates(REPO)
    assert {t.source for t in templates} == set(repo_function_files())
    missing = [role for role in Role.core_roles() if role_template(templates, role) is None]
    assert not missing, f"no function.yaml labelled {missing}; found {sorted(t.name for t in templates)}"
    assert (REPO / "function.yaml").is_file(), "the stream function's function.yaml belongs at the repository root"


@pytest.mark.parametrize("path", repo_function_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_function_yaml_is_a_valid_nuclio_config_with_a_known_role(path):
    assert validate_config(load(path), require_role=True) == []


@pytest.mark.parametrize("path", repo_function_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_function_yaml_follows_the_bundle_conventions(path):
    config = load(path)
    spec = config["spec"]
    assert spec.get("runtime") == "python:3.11"
    commands = spec.get("build", {}).get("commands") or []
    assert commands[:1] == ["@nuclio.postCopy"], "the bundle is installed after Nuclio copies it to /opt/nuclio"
    assert bundle_targets(commands[1])[0].startswith("/opt/nuclio"), "spec.build.commands must install the bundle"
    assert isinstance(spec.get("minReplicas"), int) and isinstance(spec.get("maxReplicas"), int)
    env = {e["name"]: e for e in spec.get("env") or []}
    assert {"MODELMON_BACKEND", "MODELMON_PROJECT", "MODELMON_BASE_PERIOD"} <= set(env)
    for secret in ("V3IO_ACCESS_KEY",):
        assert "value" not in env.get(secret, {}), f"{secret} must be a valueFrom secret ref, never clear text"
    triggers = spec.get("triggers") or {}
    assert triggers, "a deployable function needs a trigger"
    for name, trigger in triggers.items():
        if trigger["kind"] == "v3ioStream":
            attributes = trigger["attributes"]
            assert attributes.get("consumerGroup"), name
            assert attributes.get("seekTo") == "earliest", name
            assert trigger.get("password") == "$generate", f"{name}: password: $generate (trigger level)"
            assert isinstance(trigger.get("numWorkers", trigger.get("maxWorkers")), int), name
    if role_of(config) is Role.CONTROLLER:
        assert spec["minReplicas"] == spec["maxReplicas"] == 1
        assert [t["kind"] for t in triggers.values()] == ["cron"]


@pytest.mark.parametrize("path", repo_function_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_handler_imports(path, monkeypatch):
    monkeypatch.syspath_prepend(str(REPO))
    module_name, _, function = load(path)["spec"]["handler"].partition(":")
    module = importlib.import_module(module_name)  # stays imported: other tests hold its functions
    assert callable(getattr(module, function)), f"{module_name}:{function} is not callable"


@pytest.mark.parametrize("path", sorted(BUNDLE.rglob("function.yaml")), ids=lambda p: p.parent.name)
def test_the_fixture_bundle_is_valid(path):
    assert validate_config(load(path), require_role=True) == []


VALID = load(BUNDLE / "function.yaml")


def broken(change):
    doc = copy.deepcopy(VALID)
    change(doc)
    return validate_config(doc)


def test_unknown_fields_are_reported_with_their_path():
    assert broken(lambda d: d["spec"].update(minReplica=1)) == ["spec.minReplica: unknown field"]
    assert broken(lambda d: d["spec"]["triggers"]["tracking"]["attributes"].update(shards=4)) == [
        "spec.triggers.tracking.attributes.shards: unknown field"
    ]
    assert broken(lambda d: d["spec"]["build"].update(command=["x"])) == ["spec.build.command: unknown field"]


def test_types_follow_nuclio_go_types():
    assert broken(lambda d: d["spec"].update(maxReplicas="4")) == ["spec.maxReplicas: expected int, got str"]
    assert broken(lambda d: d["spec"]["build"].update(commands="pip install x")) == [
        "spec.build.commands: expected str-list, got str"
    ]
    assert broken(lambda d: d["metadata"].update(labels={"n": 1})) == ["metadata.labels: expected str-map, got dict"]
    assert broken(lambda d: d["spec"]["env"].append({"value": "x"})) == ["spec.env[2]: expected a mapping with a name"]


def test_semantic_checks():
    assert broken(lambda d: d["spec"].update(handler="no_colon")) == [
        "spec.handler: 'no_colon' is not 'module.path:function'"
    ]
    assert broken(lambda d: d["spec"].update(runtime="python:2.7")) == ["spec.runtime: unknown runtime 'python:2.7'"]
    assert broken(lambda d: d["spec"].update(minReplicas=5)) == ["spec.maxReplicas: 4 is below minReplicas 5"]
    assert broken(lambda d: d["spec"]["triggers"]["tracking"].update(kind="v3io")) == [
        "spec.triggers.tracking.kind: 'v3io' is not a Nuclio trigger kind (http, cron, v3ioStream, kafka-cluster, "
        "kinesis, eventhub, nats, rabbit-mq, mqtt, natsJetStream)"
    ]
    assert broken(lambda d: d["spec"]["triggers"]["tracking"]["attributes"].update(seekTo="oldest")) == [
        "spec.triggers.tracking.attributes.seekTo: 'oldest' is not earliest/latest"
    ]
    assert broken(lambda d: d["spec"]["triggers"]["tracking"]["attributes"].pop("streamPath")) == [
        "spec.triggers.tracking.attributes: containerName and streamPath (or a url) are required"
    ]
    cron = load(BUNDLE / "controller" / "function.yaml")
    cron["spec"]["triggers"]["every-base-period"]["attributes"]["schedule"] = "*/10 * * * *"
    assert validate_config(cron) == ["spec.triggers.every-base-period.attributes: set exactly one of interval and "
                                     "schedule"]


def test_a_role_label_must_name_a_known_role():
    assert broken(lambda d: d["metadata"]["labels"].update({"modelmon/role": "ingest"})) == [
        "metadata.labels.modelmon/role: 'ingest' is not a modelmon role (stream, controller, writer, app, labels, "
        "alerts, batch-inference, example-model-server)"
    ]
    assert broken(lambda d: d["metadata"].pop("labels")) == []  # configs from elsewhere need no role
    unlabelled = copy.deepcopy(VALID)
    del unlabelled["metadata"]["labels"]
    assert validate_config(unlabelled, require_role=True) == [
        "metadata.labels.modelmon/role: required (stream, controller, writer, app, labels, alerts, batch-inference, "
        "example-model-server)"
    ]


def test_check_config_raises_one_config_error_listing_every_problem():
    doc = copy.deepcopy(VALID)
    doc["spec"]["maxReplicas"] = "4"
    doc["metadata"]["nmae"] = "x"
    with pytest.raises(ConfigError) as info:
        check_config(doc, "somewhere/function.yaml")
    assert str(info.value).startswith("somewhere/function.yaml: not a valid Nuclio function config:")
    assert "metadata.nmae: unknown field" in str(info.value)
    assert "spec.maxReplicas: expected int, got str" in str(info.value)


@pytest.mark.parametrize(
    ("commands", "problems"),
    [
        (["@nuclio.postCopy", "pip install --no-cache-dir /opt/nuclio"], []),
        ([" @nuclio.postCopy ", "python -m pip install '/opt/nuclio[evidently]' 'scipy>=1'"], []),
        (["apt-get install -y gcc", "pip install scipy", "@nuclio.postCopy", "pip3 install /opt/nuclio/"], []),
        (["pip install modelmon"], []),  # from a package index: no copy needed
        (["pip install /opt/nuclio", "@nuclio.postCopy"], ["spec.build.commands[0]: 'pip install /opt/nuclio' "
                                                           "installs the bundle before Nuclio copies it: put it "
                                                           "after '@nuclio.postCopy' and install /opt/nuclio"]),
        (["pip install '.[evidently]'"], ["spec.build.commands[0]: \"pip install '.[evidently]'\" installs the "
                                          "bundle before Nuclio copies it: put it after '@nuclio.postCopy' and "
                                          "install /opt/nuclio"]),
        (["@nuclio.postCopy", "pip install -e ."], ["spec.build.commands[1]: 'pip install -e .' installs a relative "
                                                    "path; the bundle is at /opt/nuclio"]),
    ],
)
def test_the_bundle_is_installed_only_after_post_copy_and_from_opt_nuclio(commands, problems):
    assert broken(lambda d: d["spec"]["build"].update(commands=commands)) == problems
