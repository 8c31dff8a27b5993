"""``modelmon deploy --kafka ... --kafka-security-protocol SASL_SSL``: Nuclio's ``kafka-cluster`` triggers and the
functions' env authenticate to a managed Kafka, the password and CA coming from a Kubernetes secret.

The trigger attributes are Nuclio's (``sasl.enable/handshake/mechanism/user/password``, ``tls.enable``,
``caCert``: ``pkg/processor/trigger/kafka/types.go``); ``sasl.password`` and ``caCert`` are paths into the
mounted secret, which Nuclio reads (``populateValuesFromMountedSecrets``). No password is in a file or the output.
"""

from __future__ import annotations

import copy

import pytest
import yaml
from deploy_paths import REPO
from kafka_server import KafkaTestBroker
from kafka_server.tls import make_certificates, server_context

from modelmon.cli import main
from modelmon.core.config import Settings
from modelmon.core.kafka_security import KafkaSecurity
from modelmon.deploy import render
from modelmon.deploy.kafka_credentials import KafkaCredentials, plain_kafka_secret_problems
from modelmon.deploy.schema import validate_config

BROKERS = "b-1.kafka.example:9096,b-2.kafka.example:9096"
STORES = ["--kafka", BROKERS, "--postgres", "host=db dbname=mm user=mm", "--samples-url", "s3://models/mon"]
PASSWORD = "kafka-pw-of-the-shell"


def _env(config):
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in config["spec"].get("env") or []}


def _deploy(tmp_path, capsys, *options):
    out = tmp_path / "out"
    assert main(["deploy", "--bundle", str(REPO), "--project", "fraud", "--output", str(out), *STORES,
                 *options]) == 0
    files = {p.parent.name: p.read_text() for p in out.glob("*/function.yaml")}
    return {n: yaml.safe_load(t) for n, t in files.items()}, files, capsys.readouterr().out


@pytest.fixture
def ca_file(tmp_path):
    path = tmp_path / "ca.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\nnot checked by rendering\n-----END CERTIFICATE-----\n")
    return path


def test_sasl_ssl_triggers_env_and_secret_volume(tmp_path, capsys, monkeypatch, ca_file):
    monkeypatch.setenv("MODELMON_KAFKA_SASL_PASSWORD", PASSWORD)
    configs, files, out = _deploy(tmp_path, capsys, "--kafka-security-protocol", "SASL_SSL",
                                  "--kafka-sasl-mechanism", "SCRAM-SHA-512", "--kafka-sasl-username", "svc-mm",
                                  "--kafka-ca-file", str(ca_file), "--postgres-password-secret", "mm-creds")
    triggers = 0
    for name, config in configs.items():
        for trigger in config["spec"]["triggers"].values():
            if trigger["kind"] != "kafka-cluster":
                continue
            triggers += 1
            attributes = trigger["attributes"]
            assert attributes["sasl"] == {"enable": True, "handshake": True, "mechanism": "SCRAM-SHA-512",
                                          "user": "svc-mm", "password": "/etc/modelmon/kafka/kafka-sasl-password"}
            assert attributes["tls"] == {"enable": True}
            assert attributes["caCert"] == "/etc/modelmon/kafka/kafka-ca-cert"
        env = _env(config)
        assert env["MODELMON_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL", name
        assert env["MODELMON_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
        assert env["MODELMON_KAFKA_SASL_USERNAME"] == "svc-mm"
        assert env["MODELMON_KAFKA_SASL_PASSWORD"] == {"secretKeyRef": {"name": "mm-creds",
                                                                        "key": "kafka-sasl-password"}}
        assert env["MODELMON_KAFKA_CA_FILE"] == "/etc/modelmon/kafka/kafka-ca-cert"  # the mounted copy
        (volume,) = [v for v in config["spec"]["volumes"] if v["volume"]["name"] == "modelmon-kafka-credentials"]
        assert volume == {"volume": {"name": "modelmon-kafka-credentials", "secret": {
            "secretName": "mm-creds", "items": [{"key": "kafka-sasl-password", "path": "kafka-sasl-password"},
                                                {"key": "kafka-ca-cert", "path": "kafka-ca-cert"}]}},
            "volumeMount": {"name": "modelmon-kafka-credentials", "mountPath": "/etc/modelmon/kafka",
                            "readOnly": True}}
        assert validate_config(config, require_role=True) == [], name  # as written, not only as rendered
    assert triggers >= 4  # stream, writer, alerts, the apps
    assert all(PASSWORD not in text for text in files.values()) and PASSWORD not in out
    assert "'mm-creds' must hold kafka-sasl-password (the Kafka SASL password) and kafka-ca-cert" in out


def test_the_rendered_function_env_gives_the_function_its_security(tmp_path, capsys, monkeypatch, ca_file):
    """What a function builds from its rendered env (with the secret resolved and mounted) is the deployer's."""
    configs, _, _ = _deploy(tmp_path, capsys, "--kafka-security-protocol", "SASL_PLAINTEXT",
                            "--kafka-sasl-username", "svc-mm")
    stream = configs["model-monitoring-stream"]
    env = {k: v for k, v in _env(stream).items() if isinstance(v, str)}
    security = Settings.from_env({**env, "MODELMON_KAFKA_SASL_PASSWORD": "from-the-secret"}).kafka_security
    assert security == KafkaSecurity("SASL_PLAINTEXT", "PLAIN", "svc-mm", "from-the-secret")
    trigger = next(t for t in stream["spec"]["triggers"].values() if t["kind"] == "kafka-cluster")
    assert "tls" not in trigger["attributes"] and "caCert" not in trigger["attributes"]
    assert trigger["attributes"]["sasl"]["mechanism"] == "PLAIN"
    (volume,) = stream["spec"]["volumes"]
    assert volume["volume"]["secret"] == {"secretName": "modelmon-credentials",
                                          "items": [{"key": "kafka-sasl-password", "path": "kafka-sasl-password"}]}


def test_tls_on_a_public_ca_needs_no_secret(tmp_path, capsys):
    configs, _, out = _deploy(tmp_path, capsys, "--kafka-security-protocol", "SSL")
    for config in configs.values():
        assert not config["spec"].get("volumes")
        assert "MODELMON_KAFKA_SASL_PASSWORD" not in _env(config)
        for trigger in config["spec"]["triggers"].values():
            if trigger["kind"] == "kafka-cluster":
                assert trigger["attributes"]["tls"] == {"enable": True}
                assert "sasl" not in trigger["attributes"] and "caCert" not in trigger["attributes"]
    assert "kafka-sasl-password" not in out


def test_security_options_need_kafka_and_a_protocol(tmp_path, capsys):
    out = str(tmp_path / "out")
    assert main(["deploy", "--bundle", str(REPO), "--output", out, *STORES, "--kafka-sasl-username", "u"]) != 0
    assert "--kafka-sasl-username: only with --kafka-security-protocol" in capsys.readouterr().err
    assert main(["deploy", "--bundle", str(REPO), "--output", out, "--kafka-security-protocol", "SSL"]) != 0
    assert "--kafka-security-protocol: only with the postgres backend" in capsys.readouterr().err


def test_a_plain_password_is_never_written(tmp_path):
    settings = Settings(backend="postgres", postgres_dsn="host=db", kafka_brokers=("k:9093",), samples_url="s3://b/p",
                        kafka_security=KafkaSecurity("SASL_SSL", "PLAIN", "u", "hunter2"))
    (rendered,) = render.render_bundle(REPO, settings, functions=["model-monitoring-stream"])
    assert "hunter2" not in rendered.to_yaml()
    assert plain_kafka_secret_problems(rendered.config) == []
    leaked = copy.deepcopy(rendered.config)
    trigger = next(t for t in leaked["spec"]["triggers"].values() if t["kind"] == "kafka-cluster")
    trigger["attributes"]["sasl"]["password"] = "hunter2"
    leaked["spec"]["env"].append({"name": "MODELMON_KAFKA_SASL_PASSWORD", "value": "hunter2"})
    assert len(plain_kafka_secret_problems(leaked)) == 2
    bad = render.RenderedFunction(rendered.function, rendered.name, rendered.project, leaked)
    with pytest.raises(ValueError, match="not writing a plain MODELMON_KAFKA_SASL_PASSWORD"):
        render.write_configs([bad], tmp_path)
    assert not list(tmp_path.glob("*/function.yaml"))


def test_the_schema_checks_the_security_attributes():
    settings = Settings(backend="postgres", postgres_dsn="host=db", kafka_brokers=("k:9093",), samples_url="s3://b/p",
                        kafka_security=KafkaSecurity("SASL_SSL", "PLAIN", "u"))
    (rendered,) = render.render_bundle(REPO, settings, functions=["model-monitoring-stream"])
    config = copy.deepcopy(rendered.config)
    name, trigger = next((n, t) for n, t in config["spec"]["triggers"].items() if t["kind"] == "kafka-cluster")
    trigger["attributes"]["sasl"]["enabled"] = True  # a typo Nuclio would ignore: SASL silently off
    trigger["attributes"]["tls"]["enable"] = "yes"
    assert validate_config(config) == [f"spec.triggers.{name}.attributes.sasl.enabled: unknown field",
                                       f"spec.triggers.{name}.attributes.tls.enable: expected bool, got str"]


def test_attributes_follow_the_settings():
    assert KafkaCredentials(KafkaSecurity()).trigger_attributes() == {}
    assert not KafkaCredentials(KafkaSecurity("SSL")).needed
    assert KafkaCredentials(KafkaSecurity("SASL_PLAINTEXT", None, "u")).trigger_attributes() == {
        "sasl": {"enable": True, "handshake": True, "mechanism": "PLAIN", "user": "u",
                 "password": "/etc/modelmon/kafka/kafka-sasl-password"}}


def test_create_topics_connects_over_sasl_ssl_with_the_shells_password(tmp_path, capsys, monkeypatch):
    """``--create-topics`` from the deploying machine: the same security settings, the password from its shell."""
    certificates = make_certificates(tmp_path / "tls")
    with KafkaTestBroker(sasl_users={"svc-mm": PASSWORD}, ssl_context=server_context(certificates)) as broker:
        stores = ["--kafka", broker.bootstrap, *STORES[2:]]
        common = ["deploy", "--bundle", str(REPO), "--project", "fraud", "--output", str(tmp_path / "out"), *stores,
                  "--create-topics", "--kafka-security-protocol", "SASL_SSL", "--kafka-sasl-username", "svc-mm",
                  "--kafka-ca-file", str(certificates.ca_file)]
        monkeypatch.setenv("MODELMON_KAFKA_SASL_PASSWORD", PASSWORD)
        assert main(common) == 0
        out = capsys.readouterr().out
        assert "created topic projects.fraud.model-endpoints.stream" in out and PASSWORD not in out
        assert broker.store.partition("projects.fraud.model-endpoints.stream", 0) is not None
