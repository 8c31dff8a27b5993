"""The test broker as kafka-python 3 sees it: every test drives the unmodified client over a socket.

Frame-level tests (a corrupt batch, a request cut off mid-frame) build their requests with the client's own
protocol classes and send them on a plain socket, since the client never sends such frames itself.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import AlterConfigOp, ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import (
    InvalidConfigurationError,
    InvalidReplicationFactorError,
    InvalidSessionTimeoutError,
    InvalidTimestampError,
    InvalidTopicError,
    TopicAlreadyExistsError,
    UnknownTopicOrPartitionError,
)
from kafka.protocol.metadata import ApiVersionsRequest, ApiVersionsResponse
from kafka.protocol.producer import ProduceRequest, ProduceResponse
from kafka.record.memory_records import MemoryRecordsBuilder
from kafka.record.util import calc_crc32c
from kafka.structs import OffsetAndMetadata
from kafka_server import BrokerProcess, FileClock, KafkaTestBroker
from kafka_server.log import PartitionLog
from kafka_server.records import COMPRESSION_GZIP, read_header

from modelmon.testing import ManualClock

NOT_LEADER_OR_FOLLOWER = 6
CORRUPT_MESSAGE = 2


def create(admin: KafkaAdminClient, name: str, partitions: int = 1, **configs: str) -> None:
    admin.create_topics([NewTopic(name, partitions, 1, topic_configs=configs)])


def read_all(consumer: KafkaConsumer, count: int) -> list:
    """Poll until ``count`` records came (each poll is bounded; the loop gives up after 50 polls)."""
    got: list = []
    for _ in range(50):
        for records in consumer.poll(timeout_ms=200).values():
            got.extend(records)
        if len(got) >= count:
            break
    return got


def test_client_negotiates_the_served_versions_and_sees_a_kafka_4_broker(broker, clients):
    producer = clients(KafkaProducer)
    assert producer.config["api_version"] == (4, 0)
    keys = {key for key, _ in broker.requests}
    assert 18 in keys and 3 in keys  # ApiVersions then Metadata
    assert (18, 4) in broker.requests  # ApiVersions v4: flexible body, v0 response header


def test_round_trip_keeps_keys_headers_timestamps_and_numbers_offsets_per_partition(broker, clients):
    create(clients(KafkaAdminClient), "events", partitions=2)
    producer = clients(KafkaProducer)
    sent = [
        producer.send(
            "events",
            key=b"k%d" % i,
            value=b"v%d" % i,
            partition=i % 2,
            timestamp_ms=1_000 + i,
            headers=[("trace", b"t%d" % i), ("empty", b"")],
        )
        for i in range(6)
    ]
    producer.flush()
    assert [(f.get().partition, f.get().offset) for f in sent] == [(0, 0), (1, 0), (0, 1), (1, 1), (0, 2), (1, 2)]

    consumer = clients(KafkaConsumer)
    consumer.assign([TopicPartition("events", 0), TopicPartition("events", 1)])
    consumer.seek_to_beginning()
    got = sorted(read_all(consumer, 6), key=lambda r: r.timestamp)
    assert [(r.partition, r.offset, r.key, r.value, r.timestamp, r.timestamp_type) for r in got] == [
        (i % 2, i // 2, b"k%d" % i, b"v%d" % i, 1_000 + i, 0) for i in range(6)
    ]
    assert got[3].headers == [("trace", b"t3"), ("empty", b"")]
    # the versions the client chose: Produce v9, Fetch v12, ListOffsets v10, Metadata v12, InitProducerId v4
    assert {(0, 9), (1, 12), (2, 10), (3, 12), (22, 4)} <= set(broker.requests)


def test_gzip_batches_are_stored_as_sent_and_read_back(broker, clients):
    create(clients(KafkaAdminClient), "zipped")
    producer = clients(KafkaProducer, compression_type="gzip", linger_ms=20, batch_size=1 << 20)
    for i in range(20):
        producer.send("zipped", value=b"%03d" % i * 50)
    producer.flush()
    stored = broker.store.partition("zipped", 0)
    assert stored is not None
    assert {read_header(b.data).compression for b in stored.batches} == {COMPRESSION_GZIP}
    consumer = clients(KafkaConsumer, auto_offset_reset="earliest")
    consumer.assign([TopicPartition("zipped", 0)])
    assert [r.value for r in read_all(consumer, 20)] == [b"%03d" % i * 50 for i in range(20)]


def test_seek_to_end_beginning_and_offsets_for_times(broker, clients):
    create(clients(KafkaAdminClient), "timed")
    producer = clients(KafkaProducer)
    for i in range(5):
        producer.send("timed", value=b"%d" % i, timestamp_ms=10_000 + 1_000 * i).get()
    tp = TopicPartition("timed", 0)
    consumer = clients(KafkaConsumer)
    consumer.assign([tp])
    assert consumer.beginning_offsets([tp]) == {tp: 0}
    assert consumer.end_offsets([tp]) == {tp: 5}
    found = consumer.offsets_for_times({tp: 12_500})[tp]
    assert (found.offset, found.timestamp) == (3, 13_000)
    assert consumer.offsets_for_times({tp: 99_000})[tp] is None
    consumer.seek_to_end(tp)
    assert consumer.position(tp) == 5
    consumer.seek_to_beginning(tp)
    assert consumer.position(tp) == 0
    consumer.seek(tp, found.offset)
    assert [r.value for r in read_all(consumer, 2)] == [b"3", b"4"]


def test_log_append_time_topics_are_stamped_by_the_broker(broker, clients):
    create(clients(KafkaAdminClient), "stamped", **{"message.timestamp.type": "LogAppendTime"})
    producer = clients(KafkaProducer)
    before = int(time.time() * 1000)
    sent = producer.send("stamped", value=b"a", timestamp_ms=5).get()
    assert sent.timestamp >= before  # the broker's append time, not the producer's 5
    consumer = clients(KafkaConsumer, auto_offset_reset="earliest")
    consumer.assign([TopicPartition("stamped", 0)])
    (record,) = read_all(consumer, 1)
    assert (record.timestamp, record.timestamp_type) == (sent.timestamp, 1)


def test_committed_offsets_and_records_survive_a_restart(tmp_path):
    with KafkaTestBroker(data_dir=tmp_path / "kafka") as broker:
        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
        create(admin, "kept", partitions=2)
        admin.close()
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
        for i in range(4):
            producer.send("kept", value=b"%d" % i, partition=0)
        producer.close()
        tp = TopicPartition("kept", 0)
        consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id="readers", enable_auto_commit=False)
        consumer.assign([tp])  # a simple consumer: commits with generation -1 and no member id
        consumer.commit({tp: OffsetAndMetadata(3, "note", -1)})
        consumer.close()

        port = broker.port
        broker.restart()
        assert broker.port == port

        consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id="readers", enable_auto_commit=False)
        assert consumer.committed(tp) == 3
        assert consumer.committed(TopicPartition("kept", 1)) is None
        consumer.assign([tp])
        assert [r.value for r in read_all(consumer, 1)] == [b"3"]
        consumer.close()
        assert [value for _, _, value in broker.topic_records("kept")] == [b"0", b"1", b"2", b"3"]


def test_create_describe_delete_topics_and_their_errors(broker, clients):
    admin = clients(KafkaAdminClient)
    create(admin, "configured", partitions=3, **{"retention.ms": "3600000", "message.timestamp.type": "CreateTime"})
    described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "configured")], config_filter="all")
    configs = described["topic"]["configured"]
    assert configs["retention.ms"]["value"] == "3600000"
    assert configs["retention.ms"]["config_source"] == "DYNAMIC_TOPIC_CONFIG"
    assert (configs["segment.bytes"]["value"], configs["segment.bytes"]["config_source"]) == (
        "14",
        "STATIC_BROKER_CONFIG",
    )  # the test broker's default: a segment per batch
    assert (configs["segment.ms"]["value"], configs["segment.ms"]["config_source"]) == ("604800000", "DEFAULT_CONFIG")
    (topic,) = admin.describe_topics(["configured"])
    assert [p["partition_index"] for p in topic["partitions"]] == [0, 1, 2]

    with pytest.raises(TopicAlreadyExistsError):
        create(admin, "configured")
    with pytest.raises(InvalidConfigurationError):
        create(admin, "bad-config", **{"no.such.config": "1"})
    with pytest.raises(InvalidReplicationFactorError):
        admin.create_topics([NewTopic("replicated", 1, 3)])
    with pytest.raises(InvalidTopicError):
        create(admin, "has/slash")
    assert admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "nowhere")]) == {"topic": {"nowhere": {}}}
    assert admin.describe_topics(["nowhere"])[0]["error_code"] == UnknownTopicOrPartitionError.errno

    admin.delete_topics(["configured"])
    assert "configured" not in admin.list_topics()
    with pytest.raises(UnknownTopicOrPartitionError):
        admin.delete_topics(["configured"])


def test_topics_are_created_on_metadata_only_when_auto_create_is_on(broker, clients):
    admin = clients(KafkaAdminClient)
    assert admin.describe_topics(["fresh"])[0]["error_code"] == UnknownTopicOrPartitionError.errno
    broker.auto_create_topics = True
    producer = clients(KafkaProducer)
    assert producer.send("fresh", b"first").get().offset == 0
    assert "fresh" in admin.list_topics()


def test_a_long_poll_fetch_answers_when_data_arrives(broker, clients):
    create(clients(KafkaAdminClient), "waited")
    consumer = clients(KafkaConsumer, fetch_max_wait_ms=20_000, request_timeout_ms=30_000)
    consumer.assign([TopicPartition("waited", 0)])
    consumer.seek_to_beginning()
    got: list = []
    reader = threading.Thread(target=lambda: got.extend(read_all(consumer, 1)))
    reader.start()
    for _ in range(500):  # until the consumer's fetch is parked in the broker
        if broker.waiting_fetches:
            break
        time.sleep(0.01)
    assert broker.waiting_fetches == 1
    clients(KafkaProducer).send("waited", b"wake up").get()
    reader.join(timeout=20)
    assert [r.value for r in got] == [b"wake up"]


def test_retriable_produce_errors_are_retried_without_duplicates(broker, clients):
    create(clients(KafkaAdminClient), "flaky")
    producer = clients(KafkaProducer, retry_backoff_ms=20)
    broker.fail_next(2, NOT_LEADER_OR_FOLLOWER)
    assert producer.send("flaky", b"once").get(timeout=10).offset == 0
    assert [k for k, _ in broker.requests].count(0) == 3
    assert broker.topic_records("flaky") == [(0, None, b"once")]


@pytest.mark.parametrize(
    ("idempotent", "offset", "stored"), [(True, 0, [b"lost reply"]), (False, 1, [b"lost reply"] * 2)]
)
def test_a_lost_produce_reply_is_retried_and_deduplicated_only_by_idempotence(
    broker, clients, idempotent, offset, stored
):
    """The batch is appended, then the connection closes: the producer retries the same batch. The
    idempotent producer (kafka-python's default) is answered with the first copy's offset; without
    idempotence the retry is a second copy."""
    create(clients(KafkaAdminClient), "lossy")
    producer = clients(KafkaProducer, enable_idempotence=idempotent, retry_backoff_ms=20)
    broker.drop_next(1, "Produce", after_apply=True)
    assert producer.send("lossy", b"lost reply").get(timeout=10).offset == offset
    assert [value for _, _, value in broker.topic_records("lossy")] == stored


def raw_produce(topic: str, batch: bytes) -> bytes:
    """A framed Produce v9 request as kafka-python encodes it."""
    data = ProduceRequest.TopicProduceData
    request = ProduceRequest(
        transactional_id=None,
        acks=1,
        timeout_ms=1000,
        topic_data=[data(name=topic, partition_data=[data.PartitionProduceData(index=0, records=batch)])],
    )
    request.API_VERSION = 9
    request.with_header(correlation_id=7, client_id="raw")
    return bytes(request.encode(framed=True, header=True))


def one_batch(value: bytes, producer: tuple[int, int, int] = (-1, -1, -1)) -> bytes:
    """A one-record batch; ``producer`` is (producer id, epoch, base sequence) for an idempotent one."""
    producer_id, epoch, sequence = producer
    builder = MemoryRecordsBuilder(
        magic=2,
        compression_type=0,
        batch_size=1 << 16,
        producer_id=producer_id,
        producer_epoch=epoch,
        base_sequence=sequence,
    )
    builder.append(timestamp=int(time.time() * 1000), key=None, value=value)
    builder.close()
    return bytes(builder.buffer())


def exchange(port: int, frame: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(frame)
        (size,) = struct.unpack(">i", conn.recv(4, socket.MSG_WAITALL))
        return conn.recv(size, socket.MSG_WAITALL)


def test_a_corrupt_batch_is_refused_with_corrupt_message(broker, clients):
    create(clients(KafkaAdminClient), "checked")
    batch = bytearray(one_batch(b"payload"))
    batch[-1] ^= 0xFF  # flip a bit of the value: the CRC32C no longer matches
    response = ProduceResponse.decode(
        exchange(broker.port, raw_produce("checked", bytes(batch))), version=9, header=True
    )
    assert response.responses[0].partition_responses[0].error_code == CORRUPT_MESSAGE
    good = ProduceResponse.decode(
        exchange(broker.port, raw_produce("checked", one_batch(b"ok"))), version=9, header=True
    )
    assert good.responses[0].partition_responses[0].error_code == 0
    assert broker.topic_records("checked") == [(0, None, b"ok")]


def test_a_request_cut_off_mid_frame_is_discarded(broker, clients):
    create(clients(KafkaAdminClient), "torn")
    frame = raw_produce("torn", one_batch(b"half"))
    with socket.create_connection(("127.0.0.1", broker.port)) as conn:
        conn.sendall(frame[: len(frame) - 5])  # the client dies before the last bytes
    exchange(broker.port, raw_produce("torn", one_batch(b"whole")))  # answered after the torn one was dropped
    assert broker.topic_records("torn") == [(0, None, b"whole")]


def test_group_members_share_partitions_and_commit_with_their_generation(broker, clients):
    create(clients(KafkaAdminClient), "shared", partitions=2)
    config = {
        "group_id": "pair",
        "heartbeat_interval_ms": 50,
        "session_timeout_ms": 6000,
        "auto_offset_reset": "earliest",
        "enable_auto_commit": False,
    }
    first = clients(KafkaConsumer, **config)
    first.subscribe(["shared"])
    for _ in range(50):
        first.poll(timeout_ms=100)
        if len(first.assignment()) == 2:
            break
    assert len(first.assignment()) == 2
    second = clients(KafkaConsumer, **config)
    second.subscribe(["shared"])
    for _ in range(100):
        first.poll(timeout_ms=50)
        second.poll(timeout_ms=50)
        if len(first.assignment()) == len(second.assignment()) == 1:
            break
    assert first.assignment() | second.assignment() == {TopicPartition("shared", 0), TopicPartition("shared", 1)}
    (mine,) = second.assignment()
    second.commit({mine: OffsetAndMetadata(0, "", -1)})
    assert second.committed(mine) == 0


def test_the_broker_runs_as_a_process_that_survives_kill_9(tmp_path):
    with BrokerProcess(tmp_path, auto_create_topics=True) as broker:
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
        producer.send("proc", b"before").get(timeout=10)
        producer.close()
        port = broker.port
        broker.kill()
        broker.start()
        assert broker.port == port
        consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest")
        consumer.assign([TopicPartition("proc", 0)])
        assert [r.value for r in read_all(consumer, 1)] == [b"before"]
        consumer.close()


def test_a_torn_log_tail_is_cut_on_load(tmp_path):
    """A broker killed mid-write leaves part of a batch; the next start keeps the whole batches only."""
    with KafkaTestBroker(data_dir=tmp_path) as broker:
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
        broker.auto_create_topics = True
        producer.send("torn-log", b"a").get(timeout=10)
        producer.close()
    path = tmp_path / "logs" / "torn-log-0.log"
    whole = path.read_bytes()
    path.write_bytes(whole + whole[:30])
    log = PartitionLog(path)
    assert (log.end_offset, path.read_bytes()) == (1, whole)


def test_acks_0_gets_no_answer_and_is_appended(broker, clients):
    create(clients(KafkaAdminClient), "fire-and-forget")
    producer = clients(KafkaProducer, acks=0, enable_idempotence=False)
    producer.send("fire-and-forget", b"x")
    producer.flush()
    consumer = clients(KafkaConsumer, auto_offset_reset="earliest")
    consumer.assign([TopicPartition("fire-and-forget", 0)])
    assert [r.value for r in read_all(consumer, 1)] == [b"x"]


def test_a_failed_fetch_is_retried_by_the_consumer(broker, clients):
    create(clients(KafkaAdminClient), "refetched")
    clients(KafkaProducer).send("refetched", b"x").get()
    broker.fail_next(2, NOT_LEADER_OR_FOLLOWER, "Fetch")
    consumer = clients(KafkaConsumer, auto_offset_reset="earliest", retry_backoff_ms=20)
    consumer.assign([TopicPartition("refetched", 0)])
    assert [r.value for r in read_all(consumer, 1)] == [b"x"]
    assert [k for k, _ in broker.requests].count(1) >= 3


def test_retention_moves_the_log_start_past_expired_batches(broker, clients):
    create(clients(KafkaAdminClient), "expiring", **{"retention.ms": "60000"})
    producer = clients(KafkaProducer)
    now = int(time.time() * 1000)
    producer.send("expiring", b"old", timestamp_ms=now - 3_600_000).get()
    producer.send("expiring", b"new", timestamp_ms=now).get()
    broker.enforce_retention()
    tp = TopicPartition("expiring", 0)
    consumer = clients(KafkaConsumer, auto_offset_reset="earliest")
    assert consumer.beginning_offsets([tp]) == {tp: 1}
    consumer.assign([tp])
    consumer.seek(tp, 0)  # out of range now: the consumer resets to the earliest offset left
    assert [(r.offset, r.value) for r in read_all(consumer, 1)] == [(1, b"new")]


def test_groups_are_listed_described_and_deleted(broker, clients):
    admin = clients(KafkaAdminClient)
    create(admin, "listed")
    active = clients(KafkaConsumer, group_id="active", heartbeat_interval_ms=50)
    active.subscribe(["listed"])
    for _ in range(50):
        active.poll(timeout_ms=100)
        if active.assignment():
            break
    simple = clients(KafkaConsumer, group_id="simple")
    tp = TopicPartition("listed", 0)
    simple.assign([tp])
    simple.commit({tp: OffsetAndMetadata(0, "", -1)})
    assert sorted((g["group_id"], g["group_state"], g["protocol_type"]) for g in admin.list_groups()) == [
        ("active", "Stable", "consumer"),
        ("simple", "Empty", ""),
    ]
    described = admin.describe_groups(["active"])["active"]
    assert described["protocol_data"] == "range"
    assert described["members"][0]["member_assignment"]["assigned_partitions"] == [
        {"topic": "listed", "partitions": [0]}
    ]
    assert admin.delete_groups(["active", "simple", "nope"]) == {
        "active": "NonEmptyGroupError",
        "simple": "OK",
        "nope": "GroupIdNotFoundError",
    }
    assert admin.list_group_offsets({"simple": [tp]})["simple"][tp].offset == -1


def test_an_api_versions_request_too_new_is_answered_in_v0_with_the_list(broker):
    request = ApiVersionsRequest(client_software_name="raw", client_software_version="1")
    request.API_VERSION = 4
    request.with_header(correlation_id=3, client_id="raw")
    frame = bytearray(request.encode(framed=True, header=True))
    struct.pack_into(">h", frame, 6, 9)  # claim ApiVersions v9, which does not exist yet
    response = ApiVersionsResponse.decode(exchange(broker.port, bytes(frame)), version=0, header=True)
    assert response.error_code == 35  # UNSUPPORTED_VERSION
    assert {k.api_key: (k.min_version, k.max_version) for k in response.api_keys}[18] == (0, 4)


def test_a_version_not_served_closes_the_connection(broker):
    data = ProduceRequest.TopicProduceData
    request = ProduceRequest(acks=1, timeout_ms=1000, topic_data=[data(name="t", partition_data=[])])
    request.API_VERSION = 3  # Kafka 4 still takes it; this broker serves Produce v9 only
    request.with_header(correlation_id=1, client_id="raw")
    with socket.create_connection(("127.0.0.1", broker.port), timeout=10) as conn:
        conn.sendall(bytes(request.encode(framed=True, header=True)))
        assert conn.recv(4) == b""


def test_partition_max_bytes_limits_a_fetch_to_whole_batches_but_at_least_one(broker, clients):
    create(clients(KafkaAdminClient), "chunked")
    producer = clients(KafkaProducer)
    for i in range(3):
        producer.send("chunked", b"%d" % i * 1000).get()  # three batches of about 1 kB
    consumer = clients(KafkaConsumer, auto_offset_reset="earliest", max_partition_fetch_bytes=100)
    consumer.assign([TopicPartition("chunked", 0)])
    assert [r.value for r in read_all(consumer, 3)] == [b"%d" % i * 1000 for i in range(3)]
    assert [k for k, _ in broker.requests].count(1) >= 3  # one batch per fetch: over the limit, but whole


def test_an_idempotent_producer_carries_on_after_a_broker_restart(tmp_path):
    """The producer's sequence state is rebuilt from the log, so its next batch is in order, not refused."""
    with KafkaTestBroker(data_dir=tmp_path, auto_create_topics=True) as broker:
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, retry_backoff_ms=20)
        assert producer.send("steady", b"a").get(timeout=10).offset == 0
        broker.restart()
        assert producer.send("steady", b"b").get(timeout=10).offset == 1
        producer.close()
        assert [value for _, _, value in broker.topic_records("steady")] == [b"a", b"b"]


MEMBER_SCRIPT = """
import sys
from kafka import KafkaConsumer
consumer = KafkaConsumer("owned", bootstrap_servers=sys.argv[1], group_id="survivors",
                         heartbeat_interval_ms=500, session_timeout_ms=6000)
told = False
while True:
    consumer.poll(timeout_ms=100)
    if consumer.assignment() and not told:
        print("ASSIGNED", flush=True)
        told = True
"""


def test_a_group_member_killed_with_sigkill_expires_and_its_partition_moves(tmp_path):
    # Sessions of 6 s, Kafka's shortest by default: with 1 s, a loaded machine's pause between a member's join
    # and its sync outlived the session, the broker dropped the member, and its rejoins could keep failing so.
    with KafkaTestBroker() as broker:
        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
        create(admin, "owned", partitions=2)
        admin.close()
        member = subprocess.Popen(
            [sys.executable, "-c", MEMBER_SCRIPT, broker.bootstrap], stdout=subprocess.PIPE, text=True
        )
        survivor = KafkaConsumer(
            bootstrap_servers=broker.bootstrap, group_id="survivors", heartbeat_interval_ms=500, session_timeout_ms=6000
        )
        try:
            assert member.stdout is not None
            ready, _, _ = select.select([member.stdout], [], [], 120)
            assert ready and member.stdout.readline().strip() == "ASSIGNED", "the member never got its partitions"
            survivor.subscribe(["owned"])
            for _ in range(100):
                survivor.poll(timeout_ms=100)
                if len(survivor.assignment()) == 1:
                    break
            assert len(survivor.assignment()) == 1  # the other partition is the member's
            member.kill()
            member.wait(timeout=10)
            for _ in range(600):  # the member's session (6 s) ends; the group rebalances onto the survivor
                survivor.poll(timeout_ms=100)
                if len(survivor.assignment()) == 2:
                    break
            assert survivor.assignment() == {TopicPartition("owned", 0), TopicPartition("owned", 1)}
        finally:
            member.kill()
            survivor.close()


def test_a_session_timeout_below_the_brokers_minimum_is_refused(broker, clients):
    create(clients(KafkaAdminClient), "strict")
    consumer = clients(KafkaConsumer, group_id="hasty", session_timeout_ms=1000, heartbeat_interval_ms=100)
    consumer.subscribe(["strict"])
    with pytest.raises(InvalidSessionTimeoutError):
        consumer.poll(timeout_ms=2000)


def test_create_time_records_far_in_the_future_are_refused_as_by_kafka_4(broker, clients):
    create(clients(KafkaAdminClient), "clocked")
    producer = clients(KafkaProducer, retries=0, enable_idempotence=False)
    now = int(time.time() * 1000)
    assert producer.send("clocked", b"old", timestamp_ms=now - 10 * 365 * 86_400_000).get().offset == 0
    with pytest.raises(InvalidTimestampError):
        producer.send("clocked", b"next day", timestamp_ms=now + 86_400_000).get()
    assert [value for _, _, value in broker.topic_records("clocked")] == [b"old"]


def produce_answer(broker: KafkaTestBroker, topic: str, batch: bytes) -> tuple[int, int]:
    """(error code, base offset) of a raw Produce v9 of one batch."""
    response = ProduceResponse.decode(exchange(broker.port, raw_produce(topic, batch)), version=9, header=True)
    partition = response.responses[0].partition_responses[0]
    return partition.error_code, partition.base_offset


def test_idempotent_sequences_are_checked_per_producer_and_epoch(broker, clients):
    create(clients(KafkaAdminClient), "sequenced")
    assert produce_answer(broker, "sequenced", one_batch(b"a", (7, 0, 0))) == (0, 0)
    assert produce_answer(broker, "sequenced", one_batch(b"a", (7, 0, 0))) == (0, 0)  # a retry: same offset
    assert produce_answer(broker, "sequenced", one_batch(b"gap", (7, 0, 5)))[0] == 45  # OUT_OF_ORDER_SEQUENCE
    assert produce_answer(broker, "sequenced", one_batch(b"b", (7, 0, 1))) == (0, 1)
    assert produce_answer(broker, "sequenced", one_batch(b"bumped", (7, 1, 3)))[0] == 45  # a new epoch starts at 0
    assert produce_answer(broker, "sequenced", one_batch(b"c", (7, 1, 0))) == (0, 2)
    assert produce_answer(broker, "sequenced", one_batch(b"stale", (7, 0, 2)))[0] == 47  # INVALID_PRODUCER_EPOCH
    assert produce_answer(broker, "sequenced", one_batch(b"other", (8, 0, 9))) == (0, 3)  # unknown: any sequence
    assert [value for _, _, value in broker.topic_records("sequenced")] == [b"a", b"b", b"c", b"other"]


def test_compressions_other_than_gzip_are_refused_with_their_error_code(broker, clients):
    create(clients(KafkaAdminClient), "squeezed")
    batch = bytearray(one_batch(b"plain"))
    struct.pack_into(">h", batch, 21, 3)  # attributes: lz4, as the client would flag it
    struct.pack_into(">I", batch, 17, calc_crc32c(memoryview(batch)[21:]))  # a valid CRC: only the codec is wrong
    assert produce_answer(broker, "squeezed", bytes(batch))[0] == 76  # UNSUPPORTED_COMPRESSION_TYPE
    assert broker.topic_records("squeezed") == []


def test_topic_configs_are_altered_and_checked(broker, clients):
    admin = clients(KafkaAdminClient)
    create(admin, "tuned", **{"retention.ms": "60000"})
    topic = ConfigResource(ConfigResourceType.TOPIC, "tuned")
    changed = ConfigResource(
        ConfigResourceType.TOPIC,
        "tuned",
        configs={"retention.ms": (AlterConfigOp.DELETE, None), "message.timestamp.type": "LogAppendTime"},
    )
    assert admin.alter_configs([changed]) == {"topic": {"tuned": "OK"}}
    configs = admin.describe_configs([topic], config_filter="all")["topic"]["tuned"]
    assert (configs["retention.ms"]["value"], configs["retention.ms"]["config_source"]) == (
        "604800000",
        "DEFAULT_CONFIG",
    )
    assert configs["message.timestamp.type"]["value"] == "LogAppendTime"
    refused = ConfigResource(ConfigResourceType.TOPIC, "tuned", configs={"retention.ms": "soon"})
    assert "InvalidConfigurationError" in admin.alter_configs([refused], raise_on_unknown=False)["topic"]["tuned"]


# ------------------------------------------------------------------------------ the broker's clock
HOUR_MS = 3_600_000
MINUTE_MS = 60_000


@contextlib.contextmanager
def clients_of(broker: KafkaTestBroker) -> Iterator[Callable[..., Any]]:
    """``clients`` for a broker a test starts itself (with its own clock or configs)."""
    opened: list[Any] = []

    def make(kind: type, **config: Any) -> Any:
        opened.append(kind(bootstrap_servers=broker.bootstrap, **config))
        return opened[-1]

    try:
        yield make
    finally:
        for client in reversed(opened):
            client.close()


def test_the_brokers_clock_stamps_appends_and_lists_offsets_by_time():
    clock = ManualClock()
    t0 = clock.now
    with KafkaTestBroker(clock=clock) as broker, clients_of(broker) as clients:
        admin = clients(KafkaAdminClient)
        create(admin, "stamped", **{"message.timestamp.type": "LogAppendTime"})
        create(admin, "created")
        producer = clients(KafkaProducer)
        assert producer.send("stamped", b"a").get().timestamp == t0  # not the wall clock the producer read
        clock.advance(1_000)
        assert producer.send("stamped", b"b").get().timestamp == t0 + 1_000
        tp = TopicPartition("stamped", 0)
        consumer = clients(KafkaConsumer)
        found = consumer.offsets_for_times({tp: t0 + 1})[tp]
        assert (found.offset, found.timestamp) == (1, t0 + 1_000)
        # CreateTime bounds are around the broker's clock too: an hour ahead of it at most
        assert producer.send("created", b"now", timestamp_ms=clock.now).get().offset == 0
        with pytest.raises(InvalidTimestampError):
            producer.send("created", b"later", timestamp_ms=clock.now + HOUR_MS + 1).get()


def test_retention_deletes_whole_segments_on_the_brokers_schedule():
    """Kafka's defaults but for a 15-minute segment.ms: a batch outlives retention.ms while it shares its
    segment with a newer one, and nothing goes before the 5-minute retention pass falls due."""
    clock = ManualClock()
    t0 = clock.now
    broker = KafkaTestBroker(clock=clock, retention_check_ms=5 * MINUTE_MS, broker_configs={})
    with broker, clients_of(broker) as clients:
        configs = {"message.timestamp.type": "LogAppendTime", "retention.ms": str(HOUR_MS), "segment.ms": "900000"}
        create(clients(KafkaAdminClient), "expiring", **configs)
        producer = clients(KafkaProducer)
        consumer = clients(KafkaConsumer)
        tp = TopicPartition("expiring", 0)

        def log_range_at(now: int) -> tuple[int, int]:
            clock.now = now
            return consumer.beginning_offsets([tp])[tp], consumer.end_offsets([tp])[tp]

        for minute, value in ((0, b"a"), (10, b"b"), (30, b"c")):  # c is 30 minutes on: a new segment
            clock.now = t0 + minute * MINUTE_MS
            producer.send("expiring", value).get()
        assert log_range_at(t0 + HOUR_MS + 1) == (0, 3)  # a expired, but b (its segment's newest) has not
        assert log_range_at(t0 + HOUR_MS + 8 * MINUTE_MS) == (0, 3)  # a pass ran here; b expires after 70 min
        assert log_range_at(t0 + HOUR_MS + 11 * MINUTE_MS) == (0, 3)  # b expired, the next pass is not due
        assert log_range_at(t0 + HOUR_MS + 13 * MINUTE_MS) == (2, 3)  # the pass: a and b's segment is gone
        assert [(o, v) for o, _, v in broker.topic_records("expiring")] == [(2, b"c")]
        assert log_range_at(t0 + 2 * HOUR_MS) == (3, 3)  # every segment expired, the active one too
        assert producer.send("expiring", b"d").get().offset == 3


def test_a_broker_process_runs_on_a_clock_file(tmp_path):
    clock = FileClock(tmp_path / "clock", now=1_700_000_000_000)
    with BrokerProcess(tmp_path / "data", clock=clock) as broker:
        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
        try:
            create(admin, "stamped", **{"message.timestamp.type": "LogAppendTime"})
            assert producer.send("stamped", b"a").get(timeout=10).timestamp == 1_700_000_000_000
            clock.advance(2_500)
            assert producer.send("stamped", b"b").get(timeout=10).timestamp == 1_700_000_002_500
        finally:
            producer.close()
            admin.close()
