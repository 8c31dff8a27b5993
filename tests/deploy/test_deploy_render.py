from __future__ import annotations

import pytest
import yaml
from deploy_paths import REPO

from modelmon.core.config import Settings
from modelmon.core.errors import ConfigError
from modelmon.core.paths import ProjectPaths
from modelmon.deploy import (
    check_config,
    load_templates,
    render_app,
    render_bundle,
    validate_config,
    write_configs,
)
from modelmon.deploy.render import kafka_topic
from modelmon.local_nuclio.spec import load_function


def render(bundle, **kwargs):
    settings = Settings(project="fraud", base_period_minutes=5, backend="v3io")
    return {f.function: f for f in render_bundle(bundle, settings, **kwargs)}


def env_of(rendered):
    return {e["name"]: e for e in rendered.config["spec"]["env"]}


def test_names_labels_and_env_are_the_projects(bundle):
    rendered = render(bundle)
    assert sorted(rendered) == ["controller", "histogram-data-drift", "stream", "writer"]
    stream = rendered["stream"]
    assert stream.name == "fraud-stream" and stream.project == "fraud"
    assert stream.config["metadata"]["labels"] == {"modelmon/role": "stream", "nuclio.io/project-name": "fraud",
                                                   "modelmon.io/function": "stream"}
    env = env_of(stream)
    assert env["MODELMON_PROJECT"] == {"name": "MODELMON_PROJECT", "value": "fraud"}
    assert env["MODELMON_BASE_PERIOD"]["value"] == "5"
    assert env["MODELMON_BACKEND"]["value"] == "v3io"
    assert env["V3IO_ACCESS_KEY"] == {
        "name": "V3IO_ACCESS_KEY", "valueFrom": {"secretKeyRef": {"name": "modelmon-credentials", "key": "access-key"}}
    }


def test_the_controller_cron_interval_is_the_base_period(bundle):
    controller = render(bundle)["controller"]
    assert controller.config["spec"]["triggers"]["every-base-period"]["attributes"] == {"interval": "5m"}
    assert controller.config["spec"]["maxReplicas"] == 1


def test_streams_come_from_project_paths_with_one_consumer_group_per_function(bundle):
    rendered = render(bundle)
    paths = ProjectPaths("fraud")
    expected = {
        "stream": paths.tracking_stream,
        "writer": paths.writer_stream,
        "histogram-data-drift": paths.app_stream("histogram-data-drift"),
    }
    for function, stream in expected.items():
        (trigger,) = rendered[function].config["spec"]["triggers"].values()
        attributes = trigger["attributes"]
        assert f"{attributes['containerName']}/{attributes['streamPath']}" == stream
        assert attributes["consumerGroup"] == function
        assert trigger["password"] == "$generate"


def test_rendering_does_not_touch_the_templates(bundle):
    before = [t.config for t in load_templates(bundle)]
    before_text = yaml.safe_dump(before)
    render(bundle)
    assert yaml.safe_dump([t.config for t in load_templates(bundle)]) == before_text


def test_kafka_variant_replaces_stream_triggers(bundle):
    rendered = render(bundle, kafka_brokers=["k1:9092", "k2:9092"])
    trigger = rendered["writer"].config["spec"]["triggers"]["results"]
    assert trigger["kind"] == "kafka-cluster"
    assert trigger["attributes"]["brokers"] == ["k1:9092", "k2:9092"]
    assert trigger["attributes"]["topics"] == ["projects.fraud.model-endpoints.stream-model-monitoring-writer"]
    assert trigger["attributes"]["consumerGroup"] == "writer"
    assert trigger["attributes"]["initialOffset"] == "earliest"
    assert trigger["numWorkers"] == 1
    assert rendered["controller"].config["spec"]["triggers"]["every-base-period"]["kind"] == "cron"
    assert kafka_topic("/a/b c/d") == "a.b.c.d"


def test_only_named_functions_and_unknown_names(bundle):
    assert sorted(render(bundle, functions=["writer", "controller"])) == ["controller", "writer"]
    with pytest.raises(ValueError, match="function: no function named nope"):
        render(bundle, functions=["nope"])


def test_written_configs_validate_and_load_in_the_local_runtime(bundle, tmp_path):
    rendered = render(bundle)
    written = write_configs(rendered.values(), tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == [
        "controller/function.yaml", "histogram-data-drift/function.yaml", "stream/function.yaml",
        "writer/function.yaml",
    ]
    for path in written:
        assert validate_config(yaml.safe_load(path.read_text())) == []
    spec = load_function(tmp_path / "writer" / "function.yaml")
    assert spec.name == "fraud-writer" and spec.env["MODELMON_PROJECT"] == "fraud"


def test_render_app_sets_class_stream_and_requirements(bundle):
    (template,) = load_templates(bundle, ["histogram-data-drift"])
    settings = Settings(project="fraud", base_period_minutes=5)
    app = render_app(template, settings, "my-app", "my_module:MyApp", kwargs={"threshold": 0.3},
                     requirements=["scipy>=1.10"], image="python:3.11-slim")
    env = env_of(app)
    assert app.name == "fraud-my-app"
    assert env["MODELMON_APP_NAME"]["value"] == "my-app"
    assert env["MODELMON_APP_CLASS"]["value"] == "my_module:MyApp"
    assert env["MODELMON_APP_KWARGS"]["value"] == '{"threshold": 0.3}'
    (trigger,) = app.config["spec"]["triggers"].values()
    assert f"{trigger['attributes']['containerName']}/{trigger['attributes']['streamPath']}" == ProjectPaths(
        "fraud").app_stream("my-app")
    assert trigger["attributes"]["consumerGroup"] == "my-app"
    # quoted: Nuclio runs each command through a shell, where >= would redirect
    assert app.config["spec"]["build"] == {"commands": ["pip install --no-cache-dir 'scipy>=1.10'"],
                                           "baseImage": "python:3.11-slim"}
    with pytest.raises(ValueError, match="name 'bad/name'"):
        render_app(template, settings, "bad/name", "m:C")


def test_a_stream_outside_the_project_layout_is_a_config_error(bundle, tmp_path):
    (tmp_path / "function.yaml").write_text(
        (bundle / "writer" / "function.yaml").read_text().replace("default/model-endpoints/", "elsewhere/")
    )
    with pytest.raises(ConfigError, match="not a project model-endpoints stream"):
        render_bundle(tmp_path, Settings(project="fraud"))


def test_a_stream_modelmon_does_not_know_is_a_config_error(bundle, tmp_path):
    (tmp_path / "function.yaml").write_text(
        (bundle / "writer" / "function.yaml").read_text().replace("stream-model-monitoring-writer", "stream/odd")
    )
    with pytest.raises(ConfigError, match="not a stream modelmon knows"):
        render_bundle(tmp_path, Settings(project="fraud"))


def test_the_repository_bundle_renders_every_stream_from_project_paths():
    rendered = {f.function: f for f in render_bundle(REPO, Settings(project="fraud", base_period_minutes=5))}
    paths = ProjectPaths("fraud")
    streams = {
        (function, name): f"{t['attributes']['containerName']}/{t['attributes']['streamPath']}"
        for function, f in rendered.items() for name, t in f.config["spec"]["triggers"].items()
        if t["kind"] == "v3ioStream"
    }
    assert streams[("labels", "labels")] == paths.labels_stream
    assert streams[("model-monitoring-stream", "tracking")] == paths.tracking_stream
    assert streams[("model-monitoring-writer", "results")] == paths.writer_stream
    assert streams[("data-quality", "windows")] == paths.app_stream("data-quality")
    assert all(stream.startswith("projects/fraud/model-endpoints/stream") for stream in streams.values())


def test_only_the_controller_cron_follows_the_base_period():
    rendered = {f.function: f for f in render_bundle(REPO, Settings(project="fraud", base_period_minutes=6),
                                                     functions=["labels", "model-monitoring-controller"])}
    assert rendered["model-monitoring-controller"].config["spec"]["triggers"]["every-base-period"][
        "attributes"] == {"interval": "6m"}
    assert rendered["labels"].config["spec"]["triggers"]["rematch"]["attributes"] == {"interval": "5m"}  # its own


def test_rendering_keeps_the_bundle_install_after_post_copy():
    for function in render_bundle(REPO, Settings(project="fraud")):
        commands = function.config["spec"]["build"]["commands"]
        assert commands[0] == "@nuclio.postCopy", function.function
        assert commands[1].startswith("pip install --no-cache-dir /opt/nuclio") or commands[1] == (
            "pip install --no-cache-dir '/opt/nuclio[evidently]'"), function.function
    (template,) = load_templates(REPO, ["histogram-data-drift"])
    app = render_app(template, Settings(project="fraud"), "my-app", "m:C", requirements=["scipy"])
    assert app.config["spec"]["build"]["commands"] == [
        "@nuclio.postCopy", "pip install --no-cache-dir /opt/nuclio", "pip install --no-cache-dir scipy"]


def test_a_template_installing_the_bundle_before_post_copy_does_not_render(bundle, tmp_path):
    (tmp_path / "function.yaml").write_text(
        (bundle / "function.yaml").read_text().replace('- "@nuclio.postCopy"', "- echo building")
    )
    with pytest.raises(ConfigError, match=r"installs the bundle before Nuclio copies it"):
        render_bundle(tmp_path, Settings(project="fraud"))
    with pytest.raises(ConfigError, match=r"commands\[1\]: 'pip install \.' installs a relative path"):
        check_config({"metadata": {"name": "f"}, "spec": {"handler": "m:h", "build": {
            "commands": ["@nuclio.postCopy", "pip install ."]}}}, "f")
