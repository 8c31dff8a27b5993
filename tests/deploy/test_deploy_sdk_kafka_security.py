"""The SDK's nuclio target on a SASL_SSL Kafka: a notebook's ``MODELMON_KAFKA_*`` settings reach the deployed
triggers and env (the password and CA from the secret), the topics are created over SASL_SSL, and the
notebook's password is in no config, repr or output.
"""

from __future__ import annotations

import logging

import pytest
from deploy_paths import SOURCE
from kafka_server import KafkaTestBroker
from kafka_server.tls import make_certificates, server_context
from nuclio_dashboard import NuclioDashboard
from nuclio_dashboard.platform import Namespace
from postgres_server import shared_server

import modelmon
from modelmon.backends.kafka.topics import kafka_topic
from modelmon.core.paths import ProjectPaths

PASSWORD = "kafka-pw-of-the-notebook"
SECRETS = {"modelmon-credentials": {"postgres-password": "pg", "kafka-sasl-password": PASSWORD}}


@pytest.fixture
def stores(tmp_path, monkeypatch):
    certificates = make_certificates(tmp_path / "tls")
    monkeypatch.setenv("MODELMON_SOURCE", SOURCE)
    monkeypatch.delenv("V3IO_ACCESS_KEY", raising=False)
    with KafkaTestBroker(sasl_users={"svc": PASSWORD}, ssl_context=server_context(certificates)) as broker, \
            shared_server().schema() as dsn:
        for name, value in (("MODELMON_BACKEND", "postgres"), ("MODELMON_POSTGRES_DSN", dsn),
                            ("MODELMON_KAFKA_BROKERS", broker.bootstrap), ("MODELMON_SAMPLES_URL",
                                                                           (tmp_path / "samples").as_uri()),
                            ("MODELMON_KAFKA_SECURITY_PROTOCOL", "SASL_SSL"),
                            ("MODELMON_KAFKA_SASL_MECHANISM", "SCRAM-SHA-256"),
                            ("MODELMON_KAFKA_SASL_USERNAME", "svc"), ("MODELMON_KAFKA_SASL_PASSWORD", PASSWORD),
                            ("MODELMON_KAFKA_CA_FILE", str(certificates.ca_file))):
            monkeypatch.setenv(name, value)
        yield broker


@pytest.mark.slow  # nuclio-jupyter polls the dashboard once a second
def test_enable_deploys_sasl_ssl_triggers_and_creates_the_topics_over_sasl_ssl(stores, tmp_path, capsys, caplog):
    broker = stores
    caplog.set_level(logging.DEBUG)
    with NuclioDashboard(building_polls=1, namespace=Namespace(secrets=SECRETS)) as dashboard:
        with modelmon.get_or_create_project("fraud", home=tmp_path / "home", target="nuclio",
                                            dashboard_url=dashboard.url, create_topics=True) as project:
            project.enable_model_monitoring(base_period=5, deploy_histogram_data_drift_app=False)
            shown = f"{project!r} {project.target!r} {project.settings!r} {vars(project.target)!r}"
        config = dashboard.config(next(n for n in dashboard.functions if n.endswith("-stream")))
        received = str(dashboard.received)
    trigger = next(t for t in config["spec"]["triggers"].values() if t["kind"] == "kafka-cluster")
    assert trigger["attributes"]["sasl"] == {"enable": True, "handshake": True, "mechanism": "SCRAM-SHA-256",
                                             "user": "svc", "password": "/etc/modelmon/kafka/kafka-sasl-password"}
    assert trigger["attributes"]["tls"] == {"enable": True}
    assert trigger["attributes"]["caCert"] == "/etc/modelmon/kafka/kafka-ca-cert"
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in config["spec"]["env"]}
    assert env["MODELMON_KAFKA_SASL_PASSWORD"] == {"secretKeyRef": {"name": "modelmon-credentials",
                                                                    "key": "kafka-sasl-password"}}
    assert broker.store.partition(kafka_topic(ProjectPaths("fraud").tracking_stream), 0) is not None
    out = capsys.readouterr()
    texts = {"received": received, "shown": shown, "out": out.out, "err": out.err, "log": caplog.text}
    assert [name for name, text in texts.items() if PASSWORD in text] == []
