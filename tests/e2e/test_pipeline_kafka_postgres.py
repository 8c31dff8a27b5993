"""The whole pipeline beyond one machine: streams on Kafka, KV and TSDB in PostgreSQL, samples on fsspec.

One setting selects it, as a user would: ``MODELMON_BACKEND=postgres`` with ``MODELMON_KAFKA_BROKERS`` (the
protocol test broker, ``tests/kafka_server``, spoken to by the unmodified kafka-python client) and
``MODELMON_SAMPLES_URL`` (through fsspec: a ``file://`` folder, and ``s3://`` on moto's S3 server with
``MODELMON_S3_ENDPOINT_URL`` and the usual AWS variables, as s3fs reads them). The demo renders the bundle with those
settings, so every stream trigger is a ``kafka-cluster`` one on the topic its producers write, and the local
runtime runs it (its Kafka triggers map each topic back to the stream path the Kafka role reads).

The same seeded traffic as ``test_pipeline_postgres.py``, with malformed events and the stream function, the
writer and an app SIGKILLed mid-run, must store exactly what the local run stores: nothing lost, nothing twice.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import yaml
from backends.moto_s3 import KEY, SECRET, shared_moto
from kafka_server import KafkaTestBroker
from pipeline_checks import (
    WINDOWS,
    assert_every_window_has_exactly_the_expected_results,
    assert_malformed_dead_lettered,
    assert_same_results,
    assert_samples_hold_each_request_once,
    comparable_results,
    demo_config,
    drive,
    kill,
    local_reference,
    malformed_records,
)
from postgres_server import shared_server

from modelmon.backends.kafka.topics import kafka_topic
from modelmon.core.config import Settings
from modelmon.core.paths import ProjectPaths
from modelmon.demo.session import DemoSession
from modelmon.functions.roles import Role

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The same traffic on the local backend."""
    return local_reference(tmp_path_factory)


@contextlib.contextmanager
def samples_location(kind: str, tmp_path_factory) -> Iterator[tuple[dict[str, str], Callable[[], list[str]]]]:
    """The samples settings of ``kind`` (``file`` or ``s3``) and how to list the files stored there."""
    if kind == "file":
        folder = tmp_path_factory.mktemp("samples")
        yield {"samples_url": folder.as_uri()}, lambda: [str(p) for p in folder.rglob("*") if p.is_file()]
        return
    moto = shared_moto()
    bucket = moto.new_bucket()
    client = moto.client()

    def keys() -> list[str]:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="mm/")
        return [obj["Key"] for page in pages for obj in page.get("Contents", [])]

    with pytest.MonkeyPatch.context() as env:  # the functions inherit the credentials
        env.setenv("AWS_ACCESS_KEY_ID", KEY)
        env.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
        yield {"samples_url": f"s3://{bucket}/mm", "s3_endpoint_url": moto.endpoint_url}, keys


@pytest.fixture(scope="module", params=["file", "s3"])
def run(request, tmp_path_factory):
    """Half the traffic and the malformed records, kill -9 of three functions, the other half, all windows done."""
    with KafkaTestBroker(data_dir=tmp_path_factory.mktemp("kafka")) as broker, shared_server().schema() as dsn, \
            samples_location(request.param, tmp_path_factory) as (location, samples):
        storage = Settings(backend="postgres", postgres_dsn=dsn, kafka_brokers=(broker.bootstrap,), **location)
        with DemoSession(demo_config(tmp_path_factory, f"kafka-postgres-{request.param}"), storage=storage) as session:
            malformed = malformed_records(session)
            functions = session.bundle.functions
            victims = (functions[Role.STREAM], functions[Role.WRITER], session.bundle.apps[0].function)
            killed, progress = drive(session, WINDOWS, lambda s: {f: kill(s, f) for f in victims},
                                     [record for _, record in malformed], timeout_s=90)
            yield session, dsn, samples, broker, malformed, killed, progress


def test_every_role_is_where_the_settings_say(run):
    session, dsn, samples, _, _, _, _ = run
    backend = session.backend
    assert type(backend.streams).__module__.startswith("modelmon.backends.kafka")
    assert type(backend.samples).__module__.startswith("modelmon.backends.fsspec_store")
    assert not (session.config.home / "modelmon.db").exists()  # no stream, KV or TSDB in the folder
    assert not (session.config.home / "samples").exists()
    stored = samples()
    for endpoint_id in session.endpoint_ids.values():
        assert any(f"/samples/{endpoint_id}/hour=" in name and name.endswith(".parquet") for name in stored)
    with psycopg.connect(dsn) as conn:
        kv_tables = {row[0] for row in conn.execute("SELECT DISTINCT tbl FROM modelmon_kv")}
    assert any("endpoints" in table for table in kv_tables)


def test_triggers_read_the_topics_the_producers_write(run):
    """Each rendered stream trigger is kafka-cluster on the test broker, with the function's own consumer group,
    and its topic is where the producers put their records (the broker holds them there)."""
    session, _, _, broker, _, _, _ = run
    paths = ProjectPaths(session.config.project)
    triggers = {}
    for path in sorted(Path(session.bundle.directory).glob("*/function.yaml")):
        config = yaml.safe_load(path.read_text())
        for trigger in config["spec"]["triggers"].values():
            assert trigger["kind"] != "v3ioStream", path
            if trigger["kind"] == "kafka-cluster":
                attributes = trigger["attributes"]
                assert attributes["brokers"] == [broker.bootstrap]
                assert attributes["consumerGroup"] == path.parent.name  # the function's own group
                triggers.setdefault(config["metadata"]["name"], []).extend(attributes["topics"])
    functions = session.bundle.functions
    expected = {functions[Role.STREAM]: [kafka_topic(paths.tracking_stream)],
                functions[Role.WRITER]: [kafka_topic(paths.writer_stream)],
                **{app.function: [kafka_topic(paths.app_stream(app.name))] for app in session.bundle.apps}}
    assert {name: triggers[name] for name in expected} == expected
    for (topic,) in expected.values():  # the tracking client, the controller and the apps wrote there
        assert len(broker.topic_records(topic)) > 0, topic


def test_killed_functions_were_restarted(run):
    session, _, _, _, _, killed, _ = run
    status = session.runtime.status()
    for function, pid in killed.items():
        assert status[function].restarts >= 1 and status[function].pid != pid and status[function].alive


def test_every_closed_window_has_exactly_the_expected_results(run):
    session, _, _, _, _, _, progress = run
    assert_every_window_has_exactly_the_expected_results(session, progress)


def test_same_results_as_on_the_local_backend(run, reference):
    session = run[0]
    assert_same_results(comparable_results(session), reference)


def test_samples_hold_each_request_once(run):
    assert_samples_hold_each_request_once(run[0])


def test_malformed_events_are_dead_lettered_with_reasons(run):
    session, _, _, _, malformed, _, _ = run
    assert_malformed_dead_lettered(session, malformed)
