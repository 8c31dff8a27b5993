"""Functions are picked by their ``modelmon/role`` label, never by their names."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
import yaml
from deploy_paths import REPO

import modelmon.deploy
from modelmon.core.config import Settings
from modelmon.core.errors import ConfigError
from modelmon.core.paths import deployed_name
from modelmon.demo import render_demo_bundle
from modelmon.deploy import load_templates, render_bundle
from modelmon.deploy.render import role_template, with_role
from modelmon.functions.roles import ROLE_LABEL, Role, role_of


def test_the_role_vocabulary_and_which_roles_are_core():
    assert [str(r) for r in Role] == ["stream", "controller", "writer", "app", "labels", "alerts",
                                      "batch-inference", "example-model-server"]
    assert Role.core_roles() == [Role.STREAM, Role.CONTROLLER, Role.WRITER]
    assert [r for r in Role if not r.core] == [Role.APP, Role.LABELS, Role.ALERTS, Role.BATCH_INFERENCE,
                                               Role.EXAMPLE_MODEL_SERVER]


def test_role_of_reads_the_label():
    assert role_of({"metadata": {"labels": {ROLE_LABEL: "app"}}}) is Role.APP
    assert role_of({"metadata": {"name": "f"}}) is None
    with pytest.raises(ConfigError, match="'ingest' is not a modelmon role"):
        role_of({"metadata": {"labels": {ROLE_LABEL: "ingest"}}})


def test_the_repository_bundle_labels_every_function():
    templates = load_templates(REPO)
    assert {t.name: t.role for t in templates} == {
        "model-monitoring-stream": Role.STREAM,
        "model-monitoring-controller": Role.CONTROLLER,
        "model-monitoring-writer": Role.WRITER,
        "data-quality": Role.APP,
        "evidently-data-drift": Role.APP,
        "histogram-data-drift": Role.APP,
        "model-performance": Role.APP,
        "multivariate-drift": Role.APP,
        "performance-estimation": Role.APP,
        "system-performance": Role.APP,
        "labels": Role.LABELS,
        "alerts": Role.ALERTS,
        "batch-inference": Role.BATCH_INFERENCE,
        "serving": Role.EXAMPLE_MODEL_SERVER,
    }
    assert [t.name for t in with_role(templates, Role.APP)] == [
        "data-quality", "evidently-data-drift", "histogram-data-drift", "model-performance", "multivariate-drift",
        "performance-estimation", "system-performance"]


def relabel(bundle, tmp_path, changes):
    """A copy of ``bundle`` with some functions' role labels changed (``None`` drops the label)."""
    copy = tmp_path / "bundle"
    shutil.copytree(bundle, copy)
    for relative, role in changes.items():
        path = copy / relative / "function.yaml"
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        labels = config["metadata"].setdefault("labels", {})
        if role is None:
            labels.pop(ROLE_LABEL)
        else:
            labels[ROLE_LABEL] = role
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return copy


def test_the_base_period_cron_follows_the_controller_role_not_the_name(bundle, tmp_path):
    settings = Settings(project="fraud", base_period_minutes=5, backend="v3io")
    unlabelled = relabel(bundle, tmp_path, {"controller": None})
    (controller,) = render_bundle(unlabelled, settings, functions=["controller"])
    assert controller.role is None
    assert controller.config["spec"]["triggers"]["every-base-period"]["attributes"] == {"interval": "10m"}


def test_two_functions_with_one_core_role_are_an_error(bundle, tmp_path):
    templates = load_templates(relabel(bundle, tmp_path, {"writer": "controller"}))
    with pytest.raises(ConfigError, match="controller labels 2 functions"):
        role_template(templates, Role.CONTROLLER)
    assert role_template(templates, Role.WRITER) is None


def test_the_demo_bundle_picks_core_functions_and_apps_by_role(tmp_path):
    settings = Settings(project="demo", base_period_minutes=1, backend="local", home=str(tmp_path / "home"))
    demo = render_demo_bundle(REPO, settings, ["histogram-data-drift"], tmp_path / "out", controller_interval="2s")
    core = {role: f"demo-model-monitoring-{role}" for role in ("stream", "controller", "writer")}
    assert demo.functions == {**core, Role.ALERTS: "demo-alerts"}  # the demo shows alerts too
    assert [(a.name, a.function) for a in demo.apps] == [("histogram-data-drift", "demo-histogram-data-drift")]
    controller = yaml.safe_load((tmp_path / "out" / "model-monitoring-controller" / "function.yaml").read_text())
    assert controller["spec"]["triggers"]["every-base-period"]["attributes"] == {"interval": "2s"}
    with pytest.raises(ConfigError, match="no app function for labels"):  # a function, but not an app
        render_demo_bundle(REPO, settings, ["labels"], tmp_path / "out2")


def test_deployed_name_lives_with_the_paths_and_is_still_exported_by_deploy():
    assert modelmon.deploy.deployed_name is deployed_name
    assert deployed_name("Fraud", "model_monitoring-stream") == "fraud-model-monitoring-stream"


def test_the_serving_example_does_not_load_nuclio_jupyter():
    code = "import sys, functions.serving.handler; print(sorted(m for m in sys.modules if m.split('.')[0] == 'nuclio'))"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
