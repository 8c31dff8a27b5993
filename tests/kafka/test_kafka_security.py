"""modelmon's Kafka streams over SASL and TLS: the real kafka-python clients against the test broker as a
``SASL_PLAINTEXT``, ``SSL`` or ``SASL_SSL`` listener, configured the way a function is (``MODELMON_KAFKA_*``).
"""

from __future__ import annotations

import logging

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka_server import BrokerProcess, KafkaTestBroker
from kafka_server.tls import make_certificates, server_context
from postgres_server import shared_server

from modelmon.backends import make_backend
from modelmon.backends.base import OutRecord, SeekTo
from modelmon.backends.kafka import open_kafka_streams
from modelmon.core.config import Settings
from modelmon.core.errors import BackendError, BackendUnavailable, ConfigError
from modelmon.core.kafka_security import KafkaSecurity

PATH = "projects/p1/model-endpoints/stream"
TOPIC = "projects.p1.model-endpoints.stream"
USERS = {"modelmon": "s3cret-pw"}


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def sasl_broker():
    with KafkaTestBroker(sasl_users=USERS) as running:
        yield running


@pytest.fixture
def sasl_ssl_broker(certificates):
    with KafkaTestBroker(sasl_users=USERS, ssl_context=server_context(certificates)) as running:
        yield running


def _env(broker, protocol, password="s3cret-pw", ca_file=None, mechanism="PLAIN"):
    env = {"MODELMON_BACKEND": "postgres", "MODELMON_POSTGRES_DSN": "host=db dbname=mm user=mm",
           "MODELMON_KAFKA_BROKERS": broker.bootstrap, "MODELMON_KAFKA_SECURITY_PROTOCOL": protocol}
    if protocol.startswith("SASL_"):
        env.update(MODELMON_KAFKA_SASL_MECHANISM=mechanism, MODELMON_KAFKA_SASL_USERNAME="modelmon",
                   MODELMON_KAFKA_SASL_PASSWORD=password)
    if ca_file is not None:
        env["MODELMON_KAFKA_CA_FILE"] = str(ca_file)
    return Settings.from_env(env)


def _streams(settings, timeout_s=10.0):
    return open_kafka_streams(settings.kafka_brokers, timeout_s=timeout_s,
                              **settings.kafka_security.client_options())


def _round_trip(streams):
    """Put, read, commit and read the group's position back: every client (admin, producer, consumer) works."""
    assert streams.create(PATH, shards=2) is True
    streams.put_records(PATH, [OutRecord(b"r%d" % i, shard=1) for i in range(5)])
    first = streams.seek(PATH, 1, SeekTo.EARLIEST)
    records = streams.read(PATH, 1, first)
    assert [r.data for r in records] == [b"r0", b"r1", b"r2", b"r3", b"r4"]
    streams.commit(PATH, "nuclio-group", 1, records[2].sequence + 1)
    assert streams.committed(PATH, "nuclio-group", 1) == records[2].sequence + 1
    assert streams.committed(PATH, "nuclio-group", 0) is None


def test_streams_put_read_and_commit_over_sasl_plaintext(sasl_broker):
    streams = _streams(_env(sasl_broker, "SASL_PLAINTEXT"))
    try:
        _round_trip(streams)
    finally:
        streams.close()
    assert sasl_broker.refusals == []


def test_streams_put_read_and_commit_over_sasl_ssl(sasl_ssl_broker, certificates, caplog):
    caplog.set_level(logging.DEBUG)  # kafka-python logs each client's whole configuration at DEBUG
    streams = _streams(_env(sasl_ssl_broker, "SASL_SSL", ca_file=certificates.ca_file))
    try:
        _round_trip(streams)
    finally:
        streams.close()
    assert sasl_ssl_broker.refusals == []
    assert "sasl_plain_password': '***'" in caplog.text and USERS["modelmon"] not in caplog.text


def test_streams_over_tls_without_sasl(certificates):
    with KafkaTestBroker(ssl_context=server_context(certificates)) as broker:
        streams = _streams(_env(broker, "SSL", ca_file=certificates.ca_file))
        try:
            _round_trip(streams)
        finally:
            streams.close()
        plain = open_kafka_streams([broker.bootstrap], timeout_s=2)  # a plaintext client on a TLS listener
        try:
            with pytest.raises(BackendUnavailable):
                plain.create(PATH + "-2")
        finally:
            plain.close()
        assert any(r.startswith("TLS handshake") for r in broker.refusals)


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_streams_put_read_and_commit_with_scram(sasl_ssl_broker, certificates, mechanism):
    streams = _streams(_env(sasl_ssl_broker, "SASL_SSL", ca_file=certificates.ca_file, mechanism=mechanism))
    try:
        _round_trip(streams)
    finally:
        streams.close()
    assert sasl_ssl_broker.refusals == []


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-512"])
def test_a_wrong_password_fails_with_every_mechanism(sasl_broker, mechanism):
    streams = _streams(_env(sasl_broker, "SASL_PLAINTEXT", password="wrong", mechanism=mechanism), timeout_s=3)
    try:
        with pytest.raises(BackendError, match=r"SASL authentication failed .*check MODELMON_KAFKA_SASL_USERNAME"):
            streams.create(PATH)
    finally:
        streams.close()


def test_a_function_s_backend_reads_its_security_from_env(sasl_ssl_broker, certificates, tmp_path):
    """What ``init_context`` does: ``Settings.from_env`` then ``make_backend``; its streams speak SASL_SSL."""
    with shared_server().schema() as dsn:
        env = {"MODELMON_BACKEND": "postgres", "MODELMON_POSTGRES_DSN": dsn, "MODELMON_HOME": str(tmp_path),
               "MODELMON_KAFKA_BROKERS": sasl_ssl_broker.bootstrap, "MODELMON_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
               "MODELMON_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256", "MODELMON_KAFKA_SASL_USERNAME": "modelmon",
               "MODELMON_KAFKA_SASL_PASSWORD": USERS["modelmon"], "MODELMON_KAFKA_CA_FILE": str(certificates.ca_file)}
        backend = make_backend(Settings.from_env(env))
        try:
            _round_trip(backend.streams)
        finally:
            backend.close()
    assert sasl_ssl_broker.refusals == []


def test_a_consumer_group_member_reads_over_sasl_ssl(sasl_ssl_broker, certificates):
    """A group consumer (as Nuclio's trigger is one) joins, is assigned and resumes from modelmon's commit."""
    settings = _env(sasl_ssl_broker, "SASL_SSL", ca_file=certificates.ca_file)
    streams = _streams(settings)
    try:
        streams.create(PATH, shards=1)
        streams.put_records(PATH, [OutRecord(b"a%d" % i, shard=0) for i in range(4)])
        streams.commit(PATH, "group-1", 0, 3)  # next to read: sequence 3, offset 2
    finally:
        streams.close()
    consumer = KafkaConsumer(TOPIC, bootstrap_servers=settings.kafka_brokers, group_id="group-1",
                             enable_auto_commit=False, **settings.kafka_security.client_options())
    try:
        got = []
        for _ in range(50):
            for records in consumer.poll(timeout_ms=200).values():
                got.extend(r.value for r in records)
            if len(got) >= 2:
                break
        assert got == [b"a2", b"a3"]
        assert consumer.assignment() == {TopicPartition(TOPIC, 0)}
    finally:
        consumer.close(autocommit=False)


def test_a_broker_process_serves_sasl_ssl_across_a_restart(certificates, tmp_path):
    """``python -m kafka_server --sasl-user ... --tls-cert ...``: the same listener as its own process."""
    with BrokerProcess(tmp_path / "data", sasl_users=USERS, certificates=certificates) as broker:
        streams = _streams(_env(broker, "SASL_SSL", ca_file=certificates.ca_file))
        try:
            _round_trip(streams)
            broker.restart()  # clients reconnect, authenticating again, to the data kept on disk
            assert streams.committed(PATH, "nuclio-group", 1) is not None
            assert len(streams.read(PATH, 1, streams.seek(PATH, 1, SeekTo.EARLIEST))) == 5
        finally:
            streams.close()


def test_a_wrong_password_fails_naming_the_authentication(sasl_broker):
    streams = _streams(_env(sasl_broker, "SASL_PLAINTEXT", password="wrong"), timeout_s=3)
    try:
        with pytest.raises(BackendError) as failure:
            streams.create(PATH)
    finally:
        streams.close()
    message = str(failure.value)
    assert "SaslAuthenticationFailed" in message or "authenticat" in message.lower()
    assert "wrong" not in message
    assert "SASL authentication failed" in sasl_broker.refusals


def test_a_client_without_sasl_is_refused_by_a_sasl_broker(sasl_broker):
    streams = open_kafka_streams([sasl_broker.bootstrap], timeout_s=2)
    try:
        with pytest.raises(BackendUnavailable):
            streams.create(PATH)
    finally:
        streams.close()
    assert any("before SASL authentication" in r for r in sasl_broker.refusals)


def test_tls_with_a_ca_the_broker_does_not_chain_to_fails_naming_the_certificate(sasl_ssl_broker, tmp_path):
    other = make_certificates(tmp_path / "other", ca_name="some other CA")
    streams = _streams(_env(sasl_ssl_broker, "SASL_SSL", ca_file=other.ca_file), timeout_s=3)
    try:
        with pytest.raises(BackendError) as failure:
            streams.create(PATH)
    finally:
        streams.close()
    assert "certificate" in str(failure.value).lower()
    assert any(r.startswith("TLS handshake") for r in sasl_ssl_broker.refusals)


def test_settings_never_show_the_password():
    security = KafkaSecurity("SASL_SSL", "SCRAM-SHA-512", "svc", "hunter2")
    settings = Settings(backend="postgres", postgres_dsn="host=db", kafka_brokers=("k:9093",),
                        kafka_security=security)
    assert "hunter2" not in repr(settings) and "hunter2" not in repr(security)
    env = settings.to_env()
    assert "hunter2" not in env.values()
    assert env["MODELMON_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert env["MODELMON_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert env["MODELMON_KAFKA_SASL_USERNAME"] == "svc"
    assert "MODELMON_KAFKA_SASL_PASSWORD" not in env
    assert security.client_options() == {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
                                         "sasl_plain_username": "svc", "sasl_plain_password": "hunter2"}
    assert KafkaSecurity().client_options() == {}


@pytest.mark.parametrize(("env", "message"), [
    ({"MODELMON_KAFKA_SECURITY_PROTOCOL": "SASL"}, "MODELMON_KAFKA_SECURITY_PROTOCOL='SASL': expected one of"),
    ({"MODELMON_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "MODELMON_KAFKA_SASL_MECHANISM": "GSSAPI",
      "MODELMON_KAFKA_SASL_USERNAME": "u", "MODELMON_KAFKA_SASL_PASSWORD": "p"},
     "MODELMON_KAFKA_SASL_MECHANISM='GSSAPI': expected one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"),
    ({"MODELMON_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "MODELMON_KAFKA_SASL_PASSWORD": "p"},
     "MODELMON_KAFKA_SECURITY_PROTOCOL=SASL_SSL needs MODELMON_KAFKA_SASL_USERNAME"),
    ({"MODELMON_KAFKA_SASL_USERNAME": "u", "MODELMON_KAFKA_SASL_PASSWORD": "p"},
     "MODELMON_KAFKA_SASL_USERNAME and MODELMON_KAFKA_SASL_PASSWORD: only with"),
    ({"MODELMON_KAFKA_SECURITY_PROTOCOL": "SSL", "MODELMON_KAFKA_CA_FILE": "/nonexistent/ca.pem"},
     "MODELMON_KAFKA_CA_FILE='/nonexistent/ca.pem': no such file"),
    ({"MODELMON_KAFKA_CA_FILE": "/etc/hostname"}, "MODELMON_KAFKA_CA_FILE: only with"),
])
def test_settings_validation_names_the_variable_and_never_the_password(env, message):
    full = {"MODELMON_BACKEND": "postgres", "MODELMON_POSTGRES_DSN": "host=db", "MODELMON_KAFKA_BROKERS": "k:9092",
            **env}
    with pytest.raises(ConfigError) as failure:
        Settings.from_env(full)
    assert message in str(failure.value)
    assert "MODELMON_KAFKA_SASL_PASSWORD=" not in str(failure.value)
    if "MODELMON_KAFKA_SASL_PASSWORD" in env:
        assert f"'{env['MODELMON_KAFKA_SASL_PASSWORD']}'" not in str(failure.value)


def test_a_client_without_the_password_is_refused_naming_it():
    """Settings name SASL without the password (a rendered deploy does); a client cannot be made from them."""
    settings = Settings.from_env({"MODELMON_BACKEND": "postgres", "MODELMON_POSTGRES_DSN": "host=db",
                                  "MODELMON_KAFKA_BROKERS": "k:9092", "MODELMON_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                                  "MODELMON_KAFKA_SASL_USERNAME": "u"})
    with pytest.raises(ConfigError, match="SASL_SSL needs MODELMON_KAFKA_SASL_PASSWORD"):
        settings.kafka_security.client_options()


def test_security_settings_need_brokers():
    with pytest.raises(ConfigError, match="only with MODELMON_KAFKA_BROKERS"):
        Settings.from_env({"MODELMON_BACKEND": "postgres", "MODELMON_POSTGRES_DSN": "host=db",
                           "MODELMON_KAFKA_SECURITY_PROTOCOL": "SSL"})


def test_mechanism_defaults_to_plain_and_names_are_case_insensitive():
    security = KafkaSecurity.from_env({"MODELMON_KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
                                       "MODELMON_KAFKA_SASL_USERNAME": "u", "MODELMON_KAFKA_SASL_PASSWORD": "p"})
    assert (security.protocol, security.sasl_mechanism, security.tls, security.sasl) == ("SASL_SSL", "PLAIN", True,
                                                                                        True)
