"""One backend setting selects Kafka streams, PostgreSQL KV/TSDB and fsspec samples: ``MODELMON_BACKEND=postgres``
with ``MODELMON_KAFKA_BROKERS`` and ``MODELMON_SAMPLES_URL``. Settings check their shape; ``make_backend``
composes the roles (a real PostgreSQL, a ``file://`` folder; Kafka opens without connecting) and says which
extra to install when a client package is missing."""

from __future__ import annotations

import sys

import pandas as pd
import pytest
from postgres_server import shared_server

from modelmon.backends import make_backend
from modelmon.backends.factory import storage_options
from modelmon.core.config import Settings
from modelmon.core.errors import ConfigError

PG = {"MODELMON_BACKEND": "postgres", "MODELMON_POSTGRES_DSN": "host=db dbname=modelmon user=modelmon"}


def test_brokers_samples_url_and_endpoint_are_read_checked_and_round_trip():
    env = {**PG, "MODELMON_KAFKA_BROKERS": " kafka-0.kafka:9092,kafka-1.kafka:9092 ,[::1]:9093",
           "MODELMON_SAMPLES_URL": "s3://models/monitoring", "MODELMON_S3_ENDPOINT_URL": "http://minio:9000"}
    settings = Settings.from_env(env)
    assert settings.kafka_brokers == ("kafka-0.kafka:9092", "kafka-1.kafka:9092", "[::1]:9093")
    assert (settings.samples_url, settings.s3_endpoint_url) == ("s3://models/monitoring", "http://minio:9000")
    assert not settings.uses_home and "MODELMON_HOME" not in settings.to_env()
    assert Settings.from_env(settings.to_env()) == settings
    assert storage_options(settings) == {"endpoint_url": "http://minio:9000"}
    only_kafka = Settings.from_env({**PG, "MODELMON_KAFKA_BROKERS": "k:9092"})
    assert only_kafka.uses_home and only_kafka.to_env()["MODELMON_HOME"] == ".modelmon"  # samples stay in it


@pytest.mark.parametrize(("env", "message"), [
    ({"MODELMON_KAFKA_BROKERS": "k:9092"}, "MODELMON_KAFKA_BROKERS: only with MODELMON_BACKEND=postgres"),
    ({"MODELMON_BACKEND": "v3io", "MODELMON_SAMPLES_URL": "s3://b/p"}, "MODELMON_SAMPLES_URL: only with "
                                                                       "MODELMON_BACKEND=postgres"),
    ({**PG, "MODELMON_KAFKA_BROKERS": "kafka"}, "MODELMON_KAFKA_BROKERS: 'kafka' is not host:port"),
    ({**PG, "MODELMON_KAFKA_BROKERS": "k:99999"}, "'k:99999' is not host:port"),
    ({**PG, "MODELMON_KAFKA_BROKERS": "k:9092,,j:9092"}, "expected a comma-separated list of host:port"),
    ({**PG, "MODELMON_SAMPLES_URL": "/data/samples"}, "MODELMON_SAMPLES_URL: no URL scheme is not supported "
                                                      "(use file:///absolute/path or s3://bucket/prefix)"),
    ({**PG, "MODELMON_SAMPLES_URL": "gs://b/p"}, "scheme 'gs' is not supported"),
    ({**PG, "MODELMON_SAMPLES_URL": "file://data/x"}, "is not a local absolute path; write file:///absolute/path"),
    ({**PG, "MODELMON_SAMPLES_URL": "s3:///prefix"}, "names no bucket; write s3://bucket/prefix"),
    ({**PG, "MODELMON_SAMPLES_URL": "s3://AKIA:secret@b/p"}, "MODELMON_SAMPLES_URL: no credentials in the URL"),
    ({**PG, "MODELMON_S3_ENDPOINT_URL": "minio:9000"}, "MODELMON_S3_ENDPOINT_URL: 'minio:9000' is not an http(s)"),
])
def test_bad_store_addresses_are_config_errors_naming_the_variable(env, message):
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    assert message in str(info.value)
    assert "secret@" not in str(info.value)


@pytest.mark.parametrize(("module", "env", "message"), [
    ("kafka", {"MODELMON_KAFKA_BROKERS": "k:9092"},
     "MODELMON_KAFKA_BROKERS: streams on Kafka need kafka-python: pip install 'modelmon[kafka]'"),
    ("s3fs", {"MODELMON_SAMPLES_URL": "s3://b/p"}, "MODELMON_SAMPLES_URL=s3://b/p: needs s3fs: pip install "
                                                   "'modelmon[s3]'"),
    ("psycopg", {}, "backend postgres needs psycopg: pip install 'modelmon[postgres]'"),
])
def test_a_missing_client_package_names_the_extra(monkeypatch, module, env, message):
    monkeypatch.setitem(sys.modules, module, None)  # what importlib sees when the package is not installed
    with pytest.raises(ConfigError) as info:
        make_backend(Settings.from_env({**PG, **env}))
    assert str(info.value) == message


def test_make_backend_composes_postgres_tables_kafka_streams_and_fsspec_samples(tmp_path):
    home, samples = tmp_path / "home", tmp_path / "samples"
    with shared_server().schema() as dsn:
        settings = Settings(backend="postgres", postgres_dsn=dsn, home=str(home), kafka_brokers=("127.0.0.1:9",),
                            samples_url=samples.as_uri())
        backend = make_backend(settings)
        try:
            assert backend.name == "postgres"
            assert type(backend.streams).__name__ == "KafkaStreams"  # connects on first use
            assert type(backend.kv).__name__ == "PostgresKV"
            backend.kv.put("t", "k", {"v": 1})
            assert backend.kv.get("t", "k")["v"] == 1
            frame = pd.DataFrame({"timestamp": [1_700_000_000_000], "request_id": ["r1"], "f": [0.5]})
            backend.samples.append("ep1", frame, batch_id="b1")
            assert backend.samples.read("ep1", 0, 2_000_000_000_000)["request_id"].tolist() == ["r1"]
            backend.objects.put_object("a/b.txt", b"hi")
        finally:
            backend.close()
        assert not home.exists()  # nothing of this backend lives in a folder
        assert (samples / "objects" / "a" / "b.txt").read_bytes() == b"hi"
        assert any(p.suffix == ".parquet" for p in (samples / "samples" / "ep1").rglob("*"))


def test_without_brokers_and_samples_url_the_folder_keeps_streams_samples_and_objects(tmp_path):
    with shared_server().schema() as dsn:
        backend = make_backend(Settings(backend="postgres", postgres_dsn=dsn, home=str(tmp_path),
                                        samples_url=(tmp_path / "shared").as_uri()))
        try:
            assert type(backend.streams).__name__ == "LocalStream"
            assert type(backend.samples).__name__ == "FsspecSampleStore"
        finally:
            backend.close()
    assert (tmp_path / "modelmon.db").exists()
