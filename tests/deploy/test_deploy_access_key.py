"""Stream triggers get their V3IO access key with Nuclio alone: rendering, validation, the dashboard."""

from __future__ import annotations

import pytest
from deploy_paths import REPO, SOURCE
from nuclio_dashboard import NuclioDashboard
from nuclio_dashboard.platform import Namespace

from modelmon.core.config import Settings
from modelmon.core.errors import ConfigError
from modelmon.deploy import DeploymentFailed, deploy_all, deploy_function, render_bundle, validate_config, write_configs
from modelmon.deploy.access_key import AccessKey

KEY = "0b4f5c1e-7d3a-4e2b-9c8d-1a2b3c4d5e6f"
SETTINGS = Settings(project="fraud", base_period_minutes=5, backend="v3io")


def key_entry(function):
    return [e for e in function.config["spec"]["env"] if e["name"] == "V3IO_ACCESS_KEY"]


def stream_triggers(function):
    return [t for t in function.config["spec"]["triggers"].values() if t["kind"] == "v3ioStream"]


def test_every_stream_trigger_of_the_bundle_keeps_generate_and_its_function_sets_the_key():
    rendered = render_bundle(REPO, SETTINGS, source=SOURCE)
    with_streams = [f for f in rendered if stream_triggers(f)]
    assert {f.function for f in with_streams} >= {"model-monitoring-stream", "model-monitoring-writer", "alerts",
                                                  "labels", "histogram-data-drift"}
    for function in with_streams:
        assert {t["password"] for t in stream_triggers(function)} == {"$generate"}, function.function
        assert key_entry(function) == [{"name": "V3IO_ACCESS_KEY", "valueFrom": {
            "secretKeyRef": {"name": "modelmon-credentials", "key": "access-key"}}}], function.function


def test_the_access_key_source_is_rendered_as_asked(bundle):
    (secret,) = render_bundle(bundle, SETTINGS, functions=["writer"], access_key=AccessKey.parse_secret("v3io/key"))
    assert key_entry(secret) == [{"name": "V3IO_ACCESS_KEY", "valueFrom": {"secretKeyRef": {"name": "v3io",
                                                                                            "key": "key"}}}]
    (value,) = render_bundle(bundle, SETTINGS, functions=["writer"], access_key=AccessKey.from_value(KEY))
    assert key_entry(value) == [{"name": "V3IO_ACCESS_KEY", "value": KEY}]
    assert KEY not in repr(AccessKey.from_value(KEY))
    (nuctl,) = render_bundle(bundle, SETTINGS, functions=["writer"], access_key=AccessKey.nuctl_env())
    assert key_entry(nuctl) == []  # nuctl's --env appends it
    assert stream_triggers(nuctl)[0]["password"] == "$generate"


def test_a_plain_key_is_never_written_to_a_file(bundle, tmp_path):
    rendered = render_bundle(bundle, SETTINGS, functions=["writer"], access_key=AccessKey.from_value(KEY))
    with pytest.raises(ValueError, match="writer: not writing a plain V3IO_ACCESS_KEY to a file"):
        write_configs(rendered, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_bad_access_key_sources_are_value_errors():
    with pytest.raises(ValueError, match=r"\$V3IO_ACCESS_KEY is not set"):
        AccessKey.from_value("")
    with pytest.raises(ValueError, match="secret name 'a b' is not a Kubernetes name"):
        AccessKey.parse_secret("a b/key")


def test_a_stream_trigger_without_a_usable_key_does_not_validate(bundle, tmp_path):
    (writer,) = render_bundle(bundle, SETTINGS, functions=["writer"])
    spec = writer.config["spec"]
    spec["env"] = [e for e in spec["env"] if e["name"] != "V3IO_ACCESS_KEY"]
    assert validate_config(writer.config) == [
        "spec.triggers.results.password: '$generate' is replaced by the function's V3IO_ACCESS_KEY, which "
        "spec.env does not set (give it a value or a secretKeyRef)"]
    spec["env"].append({"name": "V3IO_ACCESS_KEY", "value": ""})
    assert len(validate_config(writer.config)) == 1
    del spec["triggers"]["results"]["password"]
    assert validate_config(writer.config) == [
        "spec.triggers.results.password: missing; set '$generate' (Nuclio reads the function's V3IO_ACCESS_KEY)"]
    (tmp_path / "function.yaml").write_text(
        (bundle / "writer" / "function.yaml").read_text().replace("name: V3IO_ACCESS_KEY", "name: OTHER"))
    with pytest.raises(ConfigError, match=r"results.password: '\$generate' is replaced by the function's V3IO_ACC"):
        render_bundle(tmp_path, SETTINGS)


# ---------------------------------------------------------------------------------- the dashboard

def dashboard_with(namespace):
    return NuclioDashboard(building_polls=0, namespace=namespace)


@pytest.mark.slow  # nuclio-jupyter polls the dashboard once a second
def test_the_whole_bundle_starts_with_the_secret_in_the_namespace(monkeypatch):
    monkeypatch.delenv("V3IO_ACCESS_KEY", raising=False)
    namespace = Namespace(secrets={"modelmon-credentials": {"access-key": KEY}}, access_keys={KEY})
    with dashboard_with(namespace) as dashboard:
        states = deploy_all(render_bundle(REPO, SETTINGS, source=SOURCE), dashboard.url)
    assert {s.state for s in states} == {"ready"}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("namespace", "access_key", "reason"),
    [
        (Namespace(secrets={}), None, 'state error: Error: secret "modelmon-credentials" not found'),
        (Namespace(secrets={"modelmon-credentials": {"key": KEY}}), None,
         "state error: Error: couldn't find key access-key in Secret nuclio/modelmon-credentials"),
        (Namespace(secrets={"modelmon-credentials": {"access-key": "old"}}, access_keys={KEY}), None,
         'state error: trigger "results": V3IO answered 401 Unauthorized: the access key is not valid'),
        # Docker drops the secret reference: $generate finds an empty V3IO_ACCESS_KEY
        (Namespace(platform="local", secrets={"modelmon-credentials": {"access-key": KEY}}), None,
         "state error: trigger \"results\": V3IO answered 401 Unauthorized: no access key (password '$generate', "
         "V3IO_ACCESS_KEY '')"),
        (Namespace(platform="local", access_keys={KEY}), AccessKey.from_value(KEY), None),
        (Namespace(secrets={"v3io": {"key": KEY}}, access_keys={KEY}), AccessKey.parse_secret("v3io/key"), None),
    ],
)
def test_the_writer_starts_only_with_a_usable_key(bundle, monkeypatch, namespace, access_key, reason):
    monkeypatch.delenv("V3IO_ACCESS_KEY", raising=False)
    (writer,) = render_bundle(bundle, SETTINGS, functions=["writer"], access_key=access_key, source=SOURCE)
    with dashboard_with(namespace) as dashboard:
        if reason is None:
            assert deploy_function(writer, dashboard.url).state == "ready"
            return
        with pytest.raises(DeploymentFailed) as info:
            deploy_function(writer, dashboard.url)
    assert str(info.value) == f"deploying function 'writer' failed: {reason}"


@pytest.mark.slow
def test_a_config_sent_without_the_key_fails_on_the_dashboard(bundle, monkeypatch):
    monkeypatch.delenv("V3IO_ACCESS_KEY", raising=False)
    (writer,) = render_bundle(bundle, SETTINGS, functions=["writer"], source=SOURCE)
    writer.config["spec"]["env"] = [e for e in writer.config["spec"]["env"] if e["name"] != "V3IO_ACCESS_KEY"]
    with dashboard_with(None) as dashboard, pytest.raises(DeploymentFailed, match="no access key"):
        deploy_function(writer, dashboard.url)
