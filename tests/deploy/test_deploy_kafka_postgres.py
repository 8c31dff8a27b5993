"""``modelmon deploy --kafka BROKERS --postgres DSN --samples-url URL``: the whole bundle rendered coherently.

Each written ``function.yaml`` is parsed back: every function points at the same brokers, database and samples
URL; every stream trigger is a ``kafka-cluster`` one on the topic the Kafka stream role writes for the stream
its producers put to (derived here from each function's own rendered env, as the function would), with its own
consumer group; the PostgreSQL password is a secret reference, never text in a file or the output.
"""

from __future__ import annotations

import re

import pytest
import yaml
from deploy_paths import REPO, SOURCE
from kafka_server import KafkaTestBroker
from nuclio_dashboard import NuclioDashboard
from nuclio_dashboard.platform import Namespace

from modelmon.backends.kafka.topics import kafka_topic
from modelmon.cli import main
from modelmon.core.config import Settings
from modelmon.core.paths import ProjectPaths
from modelmon.functions.roles import Role, role_of

BROKERS = "kafka-0.kafka:9092,kafka-1.kafka:9092"
DSN = "host=db.example port=5432 dbname=modelmon user=modelmon"
SAMPLES = "s3://models/monitoring"
STORES = ["--kafka", BROKERS, "--postgres", DSN, "--samples-url", SAMPLES]


def _env(config):
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in config["spec"].get("env") or []}


@pytest.fixture
def written(tmp_path, capsys, monkeypatch):
    """The real bundle rendered for project fraud on Kafka + PostgreSQL + S3: {function: config}, stdout, the
    folder; from a shell holding the deploying user's own secrets."""
    monkeypatch.setenv("PGPASSWORD", "pg-secret-of-the-shell")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret-of-the-shell")
    out = tmp_path / "out"
    assert main(["deploy", "--bundle", str(REPO), "--project", "fraud", "--output", str(out), *STORES]) == 0
    configs = {p.parent.name: yaml.safe_load(p.read_text()) for p in out.glob("*/function.yaml")}
    return configs, capsys.readouterr().out, out


def test_every_function_points_at_the_same_stores_and_none_at_v3io_or_a_folder(written):
    configs, _, _ = written
    assert len(configs) >= 8  # stream, controller, writer, the apps, labels, alerts, batch, serving
    for name, config in configs.items():
        env = _env(config)
        assert (env["MODELMON_BACKEND"], env["MODELMON_PROJECT"]) == ("postgres", "fraud"), name
        assert (env["MODELMON_KAFKA_BROKERS"], env["MODELMON_POSTGRES_DSN"], env["MODELMON_SAMPLES_URL"]) == (
            BROKERS, DSN, SAMPLES), name
        assert env["PGPASSWORD"] == {"secretKeyRef": {"name": "modelmon-credentials", "key": "postgres-password"}}
        assert not {"MODELMON_HOME", "V3IO_ACCESS_KEY", "V3IO_API", "V3IO_FRAMESD"} & set(env), name
        settings = Settings.from_env({k: v for k, v in env.items() if isinstance(v, str)})
        assert settings.kafka_brokers == tuple(BROKERS.split(",")) and not settings.uses_home


def test_every_stream_trigger_reads_the_topic_its_producers_write(written):
    configs, _, _ = written
    reads: dict[str, tuple[str, ...]] = {}
    for name, config in configs.items():
        for trigger in config["spec"]["triggers"].values():
            assert trigger["kind"] in ("kafka-cluster", "cron", "http"), (name, trigger["kind"])
            if trigger["kind"] != "kafka-cluster":
                continue
            attributes = trigger["attributes"]
            assert attributes["brokers"] == BROKERS.split(",")
            assert attributes["consumerGroup"] == name  # one consumer group per function
            assert attributes["initialOffset"] == "earliest"
            reads[name] = (*reads.get(name, ()), *attributes["topics"])
    by_role = {role_of(c): n for n, c in configs.items() if role_of(c) is not Role.APP}
    paths = ProjectPaths("fraud")
    # the model servers / tracking client -> stream; the controller -> each app; the apps -> writer and alerts
    assert reads[by_role[Role.STREAM]] == (kafka_topic(paths.tracking_stream),)
    assert reads[by_role[Role.WRITER]] == (kafka_topic(paths.writer_stream),)
    apps = {n: _env(c)["MODELMON_APP_NAME"] for n, c in configs.items() if role_of(c) is Role.APP}
    assert apps and all(reads[n] == (kafka_topic(paths.app_stream(app)),) for n, app in apps.items())
    assert reads[by_role[Role.LABELS]] == (kafka_topic(paths.labels_stream),)
    assert set(reads[by_role[Role.ALERTS]]) == {kafka_topic(paths.writer_stream),
                                                 kafka_topic(paths.alerts_parked_stream)}
    controller = configs[by_role[Role.CONTROLLER]]["spec"]["triggers"]
    assert [t["kind"] for t in controller.values()] == ["cron"]  # it writes the app topics, reads none


def test_the_output_names_what_to_create_and_holds_no_secret(written):
    _, out, folder = written
    assert "the secret 'modelmon-credentials' with key 'postgres-password' must hold the PostgreSQL password" in out
    assert "nuctl deploy fraud-model-monitoring-stream --path" in out
    texts = [out, *(p.read_text() for p in folder.rglob("*.yaml"))]
    assert not any("secret-of-the-shell" in text for text in texts)


def test_a_dsn_with_a_password_is_refused_and_nothing_is_written(tmp_path, capsys):
    out = tmp_path / "out"
    for dsn in ("postgresql://modelmon:hunter2@db/modelmon", "host=db user=modelmon password=hunter2"):
        assert main(["deploy", "--bundle", str(REPO), "--output", str(out), "--kafka", BROKERS, "--postgres", dsn,
                     "--samples-url", SAMPLES]) == 1
        err = capsys.readouterr().err
        assert "--postgres: the DSN holds a password, which would be written into every function's config" in err
        assert "hunter2" not in err
    assert not out.exists()


def test_another_secret_or_none_for_the_password(tmp_path):
    for option, expected in (("db-creds/pw", {"secretKeyRef": {"name": "db-creds", "key": "pw"}}), ("none", None)):
        out = tmp_path / option.replace("/", "-")
        assert main(["deploy", "--bundle", str(REPO), "--output", str(out), *STORES, "--function", "writer",
                     "--postgres-password-secret", option]) == 0
        (path,) = out.glob("*/function.yaml")
        assert _env(yaml.safe_load(path.read_text())).get("PGPASSWORD") == expected


@pytest.mark.parametrize(("args", "message"), [
    (["--kafka", BROKERS], "--kafka: only the postgres backend writes its streams to Kafka; with --backend v3io"),
    (["--kafka", BROKERS, "--backend", "local"], "with --backend local every producer (the tracking client"),
    (["--postgres", DSN, "--samples-url", SAMPLES], "--postgres on Nuclio needs --kafka BROKERS: each function runs "
                                                    "in its own container, so without it the streams would be"),
    (["--postgres", DSN], "needs --kafka BROKERS and --samples-url URL"),
    (["--samples-url", SAMPLES], "--samples-url: only with the postgres backend (--postgres DSN)"),
    (["--backend", "postgres"], "--backend postgres needs --postgres DSN"),
    ([*STORES[:2], "--postgres", DSN, "--samples-url", "gs://b/p"], "MODELMON_SAMPLES_URL: scheme 'gs' is not "
                                                                    "supported"),
    (["--kafka", "kafka-0", "--postgres", DSN, "--samples-url", SAMPLES], "--kafka: 'kafka-0' is not host:port"),
    ([*STORES, "--access-key", "env"], "--access-key: the postgres backend reads and writes nothing on V3IO"),
    ([*STORES, "--platform", "local"], "--platform local with --postgres: Nuclio's Docker platform ignores secret"),
])
def test_incoherent_options_are_refused_saying_why(tmp_path, capsys, args, message):
    assert main(["deploy", "--bundle", str(REPO), "--output", str(tmp_path / "out"), *args]) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow  # nuclio-jupyter polls the dashboard once a second
def test_a_dashboard_deploy_resolves_the_password_from_the_secret(monkeypatch, capsys):
    """Through the test dashboard (a Kubernetes namespace holding the secret): every function reaches ready, and
    the container's environment has the password only from the secret."""
    monkeypatch.setenv("MODELMON_SOURCE", SOURCE)
    secrets = {"modelmon-credentials": {"postgres-password": "from-the-secret"}}
    with NuclioDashboard(building_polls=1, namespace=Namespace(secrets=secrets)) as dashboard:
        assert main(["deploy", "--bundle", str(REPO), "--project", "fraud", "--dashboard-url", dashboard.url,
                     *STORES, "--function", "stream", "writer"]) == 0
        out = capsys.readouterr().out
        assert "model-monitoring-stream" in out and out.count(" ready") == 2
        for _, config in dashboard.received:
            env = dashboard.namespace.container_env(config)
            assert env["PGPASSWORD"] == "from-the-secret" and env["MODELMON_KAFKA_BROKERS"] == BROKERS
            assert "from-the-secret" not in str(config)


@pytest.mark.slow
def test_a_dashboard_deploy_without_the_secret_fails_with_the_clusters_reason(monkeypatch, capsys):
    monkeypatch.setenv("MODELMON_SOURCE", SOURCE)
    with NuclioDashboard(building_polls=1) as dashboard:  # its namespace holds only the V3IO access key
        assert main(["deploy", "--bundle", str(REPO), "--project", "fraud", "--dashboard-url", dashboard.url,
                     *STORES, "--function", "writer"]) == 1
    assert "couldn't find key postgres-password in Secret nuclio/modelmon-credentials" in capsys.readouterr().err


def test_create_topics_makes_every_topic_a_trigger_reads_once(tmp_path, capsys):
    """On the protocol test broker, through the unmodified kafka-python client: a second run finds them."""
    with KafkaTestBroker() as broker:
        stores = ["--kafka", broker.bootstrap, "--postgres", DSN, "--samples-url", SAMPLES]
        args = ["deploy", "--bundle", str(REPO), "--project", "fraud", "--output", str(tmp_path / "out"), *stores,
                "--function", "stream", "writer", "app", "--create-topics"]
        assert main(args) == 0
        first = [line for line in capsys.readouterr().out.splitlines() if "topic " in line]
        paths = ProjectPaths("fraud")
        assert first[:2] == [f"created topic {kafka_topic(paths.tracking_stream)}",
                             f"created topic {kafka_topic(paths.app_stream('data-quality'))}"]
        assert f"created topic {kafka_topic(paths.writer_stream)}" in first
        assert main(args) == 0
        again = [line for line in capsys.readouterr().out.splitlines() if "topic " in line]
        assert again == [line.replace("created", "exists ") for line in first]


def test_create_topics_needs_kafka(tmp_path, capsys):
    assert main(["deploy", "--bundle", str(REPO), "--output", str(tmp_path), "--create-topics"]) == 1
    assert "--create-topics: only with --kafka BROKERS" in capsys.readouterr().err


def test_the_lines_docs_deploy_md_shows_are_the_printed_ones(tmp_path, capsys, monkeypatch):
    doc = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    section = doc[doc.index("### Kafka and PostgreSQL"):]
    (block,) = re.findall(r"```console\n(.*?)```", section, flags=re.S)[:1]
    shown = [line.strip() for line in block.splitlines() if line.strip() != "..."]
    monkeypatch.chdir(tmp_path)
    assert main(["deploy", "--bundle", str(REPO), "--project", "fraud", "--output", "deploy", *STORES]) == 0
    printed = {line.strip().replace(f"--path {REPO} ", "--path . ") for line in capsys.readouterr().out.splitlines()}
    assert len(shown) >= 4 and [line for line in shown if line not in printed] == []
