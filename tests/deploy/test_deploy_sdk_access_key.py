"""Where the SDK's functions on Nuclio get V3IO_ACCESS_KEY: ``get_or_create_project(target="nuclio",
access_key=..., access_key_secret=...)``, as ``modelmon deploy --access-key`` / ``--access-key-secret``."""

from __future__ import annotations

import pytest
from sdk_app import RowCountApp
from v3io_server.stack import ACCESS_KEY

import modelmon
from modelmon.core.errors import DeploymentFailed

SECRET_REF = {"secretKeyRef": {"name": "modelmon-credentials", "key": "access-key"}}


def open_project(bundle, dashboard, tmp_path, **kwargs):
    return modelmon.get_or_create_project("fraud", home=tmp_path / "home", target="nuclio",
                                          dashboard_url=dashboard.url, bundle_dir=bundle, **kwargs)


def key_entry(dashboard, name: str) -> dict:
    (entry,) = [e for e in dashboard.config(name)["spec"]["env"] if e["name"] == "V3IO_ACCESS_KEY"]
    return {k: v for k, v in entry.items() if k != "name"}


def test_by_default_the_functions_read_the_committed_secret(bundle, dashboard, tmp_path, v3io_env):
    with open_project(bundle, dashboard, tmp_path) as project:
        project.enable_model_monitoring(base_period=5)
    assert key_entry(dashboard, "fraud-controller") == {"valueFrom": SECRET_REF}
    assert key_entry(dashboard, "fraud-histogram-data-drift") == {"valueFrom": SECRET_REF}


def test_another_secret_is_named_and_a_missing_one_fails_with_the_clusters_reason(bundle, dashboard, tmp_path,
                                                                                 v3io_env):
    with open_project(bundle, dashboard, tmp_path, access_key_secret="team-keys/v3io") as project, \
            pytest.raises(DeploymentFailed, match='secret "team-keys" not found'):
        project.enable_model_monitoring(base_period=5, wait_for_deployment=True)
    assert key_entry(dashboard, "fraud-stream") == {"valueFrom": {"secretKeyRef": {"name": "team-keys",
                                                                                    "key": "v3io"}}}


def test_env_sends_this_processs_key(bundle, dashboard, tmp_path, v3io_env):
    with open_project(bundle, dashboard, tmp_path, access_key="env") as project:
        states = project.enable_model_monitoring(base_period=5, wait_for_deployment=True)
    assert {s.state for s in states} == {"ready"}
    assert {key_entry(dashboard, name)["value"] for name in dashboard.functions} == {ACCESS_KEY}
    assert "valueFrom" not in str(dashboard.config("fraud-writer")["spec"]["env"])


def test_credentials_send_the_stored_key_read_at_each_deployment(bundle, dashboard, tmp_path, v3io_env):
    with open_project(bundle, dashboard, tmp_path, access_key="credentials") as project:
        with pytest.raises(ValueError, match=r"no access key is stored; call project\.set_model_monitoring_cred"):
            project.enable_model_monitoring(base_period=5)
        assert dashboard.functions == {}  # nothing was deployed without a key
        project.set_model_monitoring_credentials(access_key="first-key")
        project.enable_model_monitoring(base_period=5, wait_for_deployment=True)
        assert key_entry(dashboard, "fraud-stream") == {"value": "first-key"}

        project.set_model_monitoring_credentials(access_key="second-key", replace_creds=True)
        project.update_model_monitoring_controller(10)
        project.set_model_monitoring_function(application_class=RowCountApp, name="row-count")
    assert key_entry(dashboard, "fraud-controller") == {"value": "second-key"}
    assert key_entry(dashboard, "fraud-row-count") == {"value": "second-key"}
    assert key_entry(dashboard, "fraud-stream") == {"value": "first-key"}  # not redeployed since


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"access_key": "vault"}, "access_key 'vault': expected one of secret, env, credentials"),
        ({"access_key": "env", "access_key_secret": "s"}, "access_key_secret: only with access_key='secret'"),
        ({"access_key_secret": "bad name!"}, "access key: secret name 'bad name!' is not a Kubernetes name"),
        ({"access_key": "env"}, r"access_key 'env': \$V3IO_ACCESS_KEY is not set in this process"),
    ],
)
def test_bad_choices_are_refused_when_the_project_is_opened(kwargs, message, bundle, tmp_path, monkeypatch):
    monkeypatch.delenv("V3IO_ACCESS_KEY", raising=False)
    with pytest.raises(ValueError, match=message):
        modelmon.get_or_create_project("fraud", home=tmp_path, target="nuclio", dashboard_url="http://nuclio:8070",
                                       bundle_dir=bundle, **kwargs)


def test_access_key_is_only_for_the_nuclio_target(bundle, tmp_path):
    with pytest.raises(ValueError, match="access_key is only for target='nuclio'"):
        modelmon.get_or_create_project("fraud", home=tmp_path, bundle_dir=bundle, access_key="env")
