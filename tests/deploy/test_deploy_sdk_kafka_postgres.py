"""The SDK's nuclio target on Kafka + PostgreSQL: ``get_or_create_project(target="nuclio", backend="postgres",
postgres_password_secret=..., create_topics=...)`` deploys what ``modelmon deploy --kafka --postgres
--samples-url`` does.

The stores come from the environment as a notebook user sets them: a real PostgreSQL (the SDK keeps the app
registry there), the protocol test broker, a samples folder. The test dashboard's namespace resolves the
password secret as Kubernetes would; the notebook's own ``PGPASSWORD`` must reach no config, repr or output.
"""

from __future__ import annotations

import logging

import pytest
from deploy_paths import SOURCE
from kafka_server import KafkaTestBroker
from nuclio_dashboard import NuclioDashboard
from nuclio_dashboard.platform import Namespace
from postgres_server import shared_server
from sdk_app import RowCountApp

import modelmon
from modelmon.backends.kafka.topics import kafka_topic
from modelmon.core.errors import ConfigError, DeploymentFailed
from modelmon.core.paths import ProjectPaths
from modelmon.deploy.kafka_topics import create_topics
from modelmon.functions.roles import Role, role_of

NOTEBOOK_PASSWORD = "pg-secret-of-the-notebook"
SECRETS = {"modelmon-credentials": {"postgres-password": "from-the-secret"}, "db-creds": {"pw": "other"}}
DEFAULT_REF = {"secretKeyRef": {"name": "modelmon-credentials", "key": "postgres-password"}}
S3_ENDPOINT = "http://minio.example:9000"
DRIFT = "histogram-data-drift"


def _env(config):
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in config["spec"].get("env") or []}


@pytest.fixture
def stores(tmp_path, monkeypatch):
    """The environment of a notebook on Kafka + PostgreSQL: (broker, DSN, samples URL)."""
    monkeypatch.setenv("MODELMON_SOURCE", SOURCE)
    monkeypatch.delenv("V3IO_ACCESS_KEY", raising=False)
    monkeypatch.setenv("PGPASSWORD", NOTEBOOK_PASSWORD)  # trust auth: the test server ignores it
    with KafkaTestBroker(data_dir=tmp_path / "kafka") as broker, shared_server().schema() as dsn:
        samples = (tmp_path / "samples").as_uri()
        for name, value in (("MODELMON_BACKEND", "postgres"), ("MODELMON_POSTGRES_DSN", dsn),
                            ("MODELMON_KAFKA_BROKERS", broker.bootstrap), ("MODELMON_SAMPLES_URL", samples),
                            ("MODELMON_S3_ENDPOINT_URL", S3_ENDPOINT)):
            monkeypatch.setenv(name, value)
        yield broker, dsn, samples


@pytest.fixture
def dashboard():
    with NuclioDashboard(building_polls=1, namespace=Namespace(secrets=SECRETS)) as server:
        yield server


def open_project(bundle, dashboard, tmp_path, **kwargs):
    return modelmon.get_or_create_project("fraud", home=tmp_path / "home", target="nuclio",
                                          dashboard_url=dashboard.url, bundle_dir=bundle, **kwargs)


@pytest.mark.slow  # nuclio-jupyter polls the dashboard once a second
def test_enable_and_an_app_deploy_kafka_triggers_and_the_password_secret(bundle, dashboard, stores, tmp_path,
                                                                         capsys, caplog):
    broker, dsn, samples = stores
    caplog.set_level(logging.DEBUG)
    with open_project(bundle, dashboard, tmp_path) as project:
        states = project.enable_model_monitoring(base_period=5, wait_for_deployment=True)
        project.set_model_monitoring_function(application_class=RowCountApp, name="row-count")
        shown = f"{project!r} {project.target!r} {project.settings!r} {vars(project.target)!r}"
    assert {s.state for s in states} == {"ready"}
    configs = {name: dashboard.config(name) for name in dashboard.functions}
    assert set(configs) == {"fraud-stream", "fraud-controller", "fraud-writer", "fraud-histogram-data-drift",
                            "fraud-row-count"}
    paths = ProjectPaths("fraud")
    reads = {}
    for name, config in configs.items():
        env = _env(config)
        assert (env["MODELMON_BACKEND"], env["MODELMON_POSTGRES_DSN"], env["MODELMON_KAFKA_BROKERS"],
                env["MODELMON_SAMPLES_URL"], env["MODELMON_S3_ENDPOINT_URL"]) == (
            "postgres", dsn, broker.bootstrap, samples, S3_ENDPOINT), name
        assert env["PGPASSWORD"] == DEFAULT_REF, name
        assert not {"MODELMON_HOME", "V3IO_ACCESS_KEY", "V3IO_API", "V3IO_FRAMESD"} & set(env), name
        assert dashboard.namespace.container_env(config)["PGPASSWORD"] == "from-the-secret"
        for trigger in config["spec"]["triggers"].values():
            assert trigger["kind"] in ("kafka-cluster", "cron"), (name, trigger["kind"])
            if trigger["kind"] == "kafka-cluster":
                attributes = trigger["attributes"]
                assert attributes["brokers"] == [broker.bootstrap]
                reads[name] = (attributes["consumerGroup"], *attributes["topics"])
    by_role = {role_of(c): n for n, c in configs.items()}
    assert by_role[Role.CONTROLLER] not in reads  # it writes the apps' topics, reads none
    # one consumer group per function (the bundle's name), on the topic its producers write
    assert reads == {
        "fraud-stream": ("stream", kafka_topic(paths.tracking_stream)),
        "fraud-writer": ("writer", kafka_topic(paths.writer_stream)),
        "fraud-histogram-data-drift": ("histogram-data-drift", kafka_topic(paths.app_stream(DRIFT))),
        "fraud-row-count": ("row-count", kafka_topic(paths.app_stream("row-count"))),
    }
    out = capsys.readouterr()
    texts = [str(dashboard.received), shown, out.out, out.err, caplog.text]
    assert not any(NOTEBOOK_PASSWORD in text or "from-the-secret" in text for text in texts)


@pytest.mark.slow
def test_another_secret_none_and_a_missing_one(bundle, dashboard, stores, tmp_path):
    with open_project(bundle, dashboard, tmp_path, postgres_password_secret="db-creds/pw") as project:
        project.enable_model_monitoring(base_period=5, deploy_histogram_data_drift_app=False)
    assert _env(dashboard.config("fraud-writer"))["PGPASSWORD"] == {"secretKeyRef": {"name": "db-creds", "key": "pw"}}
    with open_project(bundle, dashboard, tmp_path, postgres_password_secret="none") as project:
        project.update_model_monitoring_controller(10)
    assert "PGPASSWORD" not in _env(dashboard.config("fraud-controller"))
    with open_project(bundle, dashboard, tmp_path, postgres_password_secret="team-db") as project, \
            pytest.raises(DeploymentFailed, match='secret "team-db" not found'):
        project.update_model_monitoring_controller(10)


@pytest.mark.slow
def test_create_topics_makes_every_topic_the_triggers_read(bundle, dashboard, stores, tmp_path):
    broker, _, _ = stores
    paths = ProjectPaths("fraud")
    expected = sorted(kafka_topic(s) for s in (paths.tracking_stream, paths.writer_stream, paths.app_stream(DRIFT)))
    with open_project(bundle, dashboard, tmp_path, create_topics=True) as project:
        project.enable_model_monitoring(base_period=5)
    # all there (without create_topics none is: nothing has produced yet)
    assert create_topics(expected, [broker.bootstrap]) == [(topic, False) for topic in expected]


@pytest.mark.parametrize(
    ("env", "kwargs", "message"),
    [
        ({"MODELMON_POSTGRES_DSN": "postgresql://modelmon:hunter2@db/modelmon"}, {},
         "MODELMON_POSTGRES_DSN: the DSN holds a password, which would be written into every function's config"),
        ({"MODELMON_POSTGRES_DSN": "host=db user=modelmon password=hunter2"}, {}, "the DSN holds a password"),
        ({"MODELMON_KAFKA_BROKERS": ""}, {}, "MODELMON_BACKEND=postgres on Nuclio needs MODELMON_KAFKA_BROKERS: each "
                                             "function runs in its own container, so without it the streams would"),
        ({"MODELMON_KAFKA_BROKERS": "", "MODELMON_SAMPLES_URL": ""}, {},
         "needs MODELMON_KAFKA_BROKERS and MODELMON_SAMPLES_URL: .* without them the streams and samples and objects"),
        ({}, {"access_key": "env"}, "access_key: the postgres backend reads and writes nothing on V3IO; leave it out"),
        ({}, {"access_key_secret": "keys/v3io"}, "access_key: the postgres backend reads and writes nothing on V3IO"),
        ({}, {"postgres_password_secret": "bad name!"}, "postgres password: secret name 'bad name!' is not a Kub"),
        ({"MODELMON_KAFKA_BROKERS": "", "MODELMON_SAMPLES_URL": "", "MODELMON_POSTGRES_DSN": "",
          "MODELMON_BACKEND": "v3io"}, {"postgres_password_secret": "db-creds"},
         "postgres_password_secret: only with the postgres backend"),
        ({"MODELMON_KAFKA_BROKERS": "", "MODELMON_SAMPLES_URL": "", "MODELMON_POSTGRES_DSN": "",
          "MODELMON_BACKEND": "v3io"}, {"create_topics": True}, r"create_topics: only with Kafka streams"),
    ],
)
def test_incoherent_settings_are_refused_when_the_project_is_opened(env, kwargs, message, bundle, tmp_path,
                                                                    monkeypatch):
    base = {"MODELMON_BACKEND": "postgres", "MODELMON_POSTGRES_DSN": "host=db user=modelmon",
            "MODELMON_KAFKA_BROKERS": "kafka-0.kafka:9092", "MODELMON_SAMPLES_URL": "s3://models/monitoring"}
    for name, value in {**base, **env}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("V3IO_ACCESS_KEY", "k")
    with pytest.raises(ValueError, match=message) as caught:
        modelmon.get_or_create_project("fraud", home=tmp_path, target="nuclio", dashboard_url="http://nuclio:8070",
                                       bundle_dir=bundle, **kwargs)
    assert "hunter2" not in str(caught.value)


def test_kafka_without_postgres_and_target_only_options(bundle, tmp_path, monkeypatch):
    monkeypatch.setenv("MODELMON_KAFKA_BROKERS", "kafka-0.kafka:9092")
    with pytest.raises(ConfigError, match="MODELMON_KAFKA_BROKERS: only with MODELMON_BACKEND=postgres"):
        modelmon.get_or_create_project("fraud", home=tmp_path, target="nuclio", dashboard_url="http://nuclio:8070",
                                       bundle_dir=bundle, backend="v3io")
    for kwargs in ({"postgres_password_secret": "db-creds"}, {"create_topics": True}):
        with pytest.raises(ValueError, match="only for target='nuclio'"):
            modelmon.get_or_create_project("fraud", home=tmp_path, bundle_dir=bundle, **kwargs)
