"""Kafka-specific behaviour of the Kafka stream backend, checked with plain kafka-python clients.

What the contract suite cannot see: the topic names Nuclio's triggers read, keys landing where any Kafka
producer puts them, sequences being offsets + 1, consumer-group offsets shared with Kafka consumers (so
Nuclio's ``kafka-cluster`` trigger resumes where modelmon's runtime stopped), and outages.
"""

from __future__ import annotations

import threading
import time

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition
from kafka_server import KafkaTestBroker

from modelmon.backends.base import OutRecord, PutIncomplete, SeekTo, StreamInfo
from modelmon.backends.kafka import kafka_topic, open_kafka_streams, partition_for_key
from modelmon.core.errors import BackendUnavailable, NotFound
from modelmon.core.paths import ProjectPaths
from modelmon.core.timeutil import now_ms
from modelmon.deploy import render

PATH = "projects/p1/model-endpoints/stream"
TOPIC = "projects.p1.model-endpoints.stream"
HOUR = 3_600_000


@pytest.fixture
def broker():
    with KafkaTestBroker() as running:
        yield running


@pytest.fixture
def streams(broker):
    opened = open_kafka_streams([broker.bootstrap], timeout_s=10)
    yield opened
    opened.close()


def _consumer(broker, **settings):
    return KafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False,
                         auto_offset_reset="earliest", **settings)


def _drain(consumer, want):
    """Poll until ``want`` records came (the test broker is local: a few polls)."""
    got = []
    for _ in range(50):
        for records in consumer.poll(timeout_ms=200).values():
            got.extend(records)
        if len(got) >= want:
            break
    return got


def test_topics_are_the_names_the_deployed_triggers_read():
    paths = ProjectPaths("p1")
    for path in (paths.tracking_stream, PATH, "/projects/p1/monitoring-apps/app one/", "a//b"):
        assert kafka_topic(path) == render.kafka_topic(path)
    assert kafka_topic(PATH) == TOPIC


def test_create_makes_the_topic_with_partitions_retention_and_append_time(broker, streams):
    assert streams.create(PATH, shards=3, retention_hours=5) is True
    assert streams.create(PATH, shards=1) is False
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        assert TOPIC in admin.list_topics()
        (described,) = admin.describe_topics([TOPIC])
        assert len(described["partitions"]) == 3
    finally:
        admin.close()
    assert streams.describe(PATH) == StreamInfo(shards=3, retention_hours=5)
    streams.put_records(PATH, [OutRecord(b"x", shard=0)])
    consumer = _consumer(broker)
    consumer.assign([TopicPartition(TOPIC, 0)])
    (record,) = _drain(consumer, 1)
    consumer.close()
    assert record.timestamp_type == 1  # LogAppendTime: the broker's clock, not the producer's
    assert streams.read(PATH, 0, 1)[0].arrival_ms == record.timestamp


def test_a_topic_made_by_another_client_is_described_and_used(broker, streams):
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        admin.create_topics({"projects.p1.other": {"num_partitions": 2, "replication_factor": 1,
                                                   "configs": {"retention.ms": str(90 * 60_000)}}})
    finally:
        admin.close()
    assert streams.describe("projects/p1/other") == StreamInfo(shards=2, retention_hours=2)  # 1.5 h, rounded up
    assert streams.put_records("projects/p1/other", [OutRecord(b"a", shard=1)]) == [(1, 1)]


def test_a_key_lands_where_any_kafka_producer_puts_it(broker, streams):
    streams.create(PATH, shards=4)
    keys = [f"endpoint-{i}" for i in range(24)]
    ours = streams.put_records(PATH, [OutRecord(b"m", partition_key=k) for k in keys])
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    try:
        theirs = [producer.send(TOPIC, value=b"k", key=k.encode()).get(timeout=10).partition for k in keys]
    finally:
        producer.close()
    assert [shard for shard, _ in ours] == theirs == [partition_for_key(k, 4) for k in keys]
    assert len(set(theirs)) == 4


def test_sequences_are_offsets_plus_one(broker, streams):
    streams.create(PATH, shards=2)
    placed = streams.put_records(PATH, [OutRecord(b"r%d" % i, partition_key="ep", shard=1) for i in range(5)])
    assert placed == [(1, s) for s in range(1, 6)]
    consumer = _consumer(broker)
    consumer.assign([TopicPartition(TOPIC, 1)])
    plain = _drain(consumer, 5)
    consumer.close()
    assert [(r.offset, r.value, r.key) for r in plain] == [(s - 1, b"r%d" % (s - 1), b"ep") for s in range(1, 6)]
    ours = streams.read(PATH, 1, 3, limit=2)
    assert [(r.sequence, r.data, r.partition_key) for r in ours] == [(3, b"r2", "ep"), (4, b"r3", "ep")]
    assert streams.seek(PATH, 1, SeekTo.LATEST) == 6
    assert streams.seek(PATH, 0, SeekTo.LATEST) == 1


def _read_all(streams, path, shard):
    out, sequence = [], 1
    while page := streams.read(path, shard, sequence):
        out.extend(page)
        sequence = page[-1].sequence + 1
    return out


def _after(t_ms):
    """Wait until the wall clock (the broker's) is past ``t_ms``, so the next append gets a later time."""
    while now_ms() <= t_ms:
        time.sleep(0.002)


def test_arrival_and_seeking_by_time_use_the_brokers_append_times(streams):
    streams.create(PATH)
    streams.put_records(PATH, [OutRecord(b"a"), OutRecord(b"b")])
    t0 = streams.read(PATH, 0, 1)[0].arrival_ms
    _after(t0)
    streams.put_records(PATH, [OutRecord(b"c"), OutRecord(b"d")])
    records = streams.read(PATH, 0, 1)
    times = [r.arrival_ms for r in records]  # a put's records may go in more than one request
    assert times == sorted(times) and times[2] > times[1]
    for t in sorted({0, *times, *(t + 1 for t in times)}):
        first_at_or_after = next((r.sequence for r in records if r.arrival_ms >= t), 5)
        assert streams.seek(PATH, 0, SeekTo.TIME, t) == first_at_or_after
    assert streams.seek(PATH, 0, SeekTo.TIME, times[2]) == 3
    assert (streams.seek(PATH, 0, SeekTo.EARLIEST), streams.seek(PATH, 0, SeekTo.LATEST)) == (1, 5)


def test_expired_records_are_passed_over_and_sequences_continue(broker, streams):
    streams.create(PATH, retention_hours=1)
    streams.put_records(PATH, [OutRecord(b"old1"), OutRecord(b"old2")])
    t_old = streams.read(PATH, 0, 1)[0].arrival_ms
    _after(t_old)
    streams.put_records(PATH, [OutRecord(b"mid")])
    assert [r.data for r in streams.read(PATH, 0, 1)] == [b"old1", b"old2", b"mid"]
    broker.store.enforce_retention(now_ms=t_old + HOUR + 1)  # the broker's retention pass, an hour on
    assert [(r.sequence, r.data) for r in streams.read(PATH, 0, 1)] == [(3, b"mid")]  # resumes at the oldest kept
    assert streams.seek(PATH, 0, SeekTo.EARLIEST) == 3
    assert streams.put_records(PATH, [OutRecord(b"new")]) == [(0, 4)]
    assert [r.sequence for r in streams.read(PATH, 0, 2)] == [3, 4]


def test_committed_sequences_are_the_group_offsets_kafka_consumers_resume_from(broker, streams):
    streams.create(PATH, shards=2)
    streams.put_records(PATH, [OutRecord(b"r%d" % i, shard=1) for i in range(6)])
    streams.commit(PATH, "nuclio-group", 1, 4)  # next to read: sequence 4, the record at offset 3
    tp = TopicPartition(TOPIC, 1)
    consumer = _consumer(broker, group_id="nuclio-group")
    try:
        assert consumer.committed(tp) == 3
        consumer.assign([tp])
        assert [r.value for r in _drain(consumer, 3)] == [b"r3", b"r4", b"r5"]
        consumer.commit({tp: OffsetAndMetadata(5, "", -1)})  # a Kafka consumer handled up to offset 4
    finally:
        consumer.close(autocommit=False)
    assert streams.committed(PATH, "nuclio-group", 1) == 6
    assert streams.committed(PATH, "nuclio-group", 0) is None
    assert streams.committed(PATH, "another-group", 1) is None


def test_a_put_refused_after_its_first_request_says_what_was_stored(broker, streams):
    """A topic made elsewhere with a smaller ``max.message.bytes``: the broker refuses the one record over it
    (alone in its partition's batch), after the first request and the rest of the second were stored."""
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        admin.create_topics({"projects.p1.small": {"num_partitions": 2, "replication_factor": 1,
                                                   "configs": {"max.message.bytes": "100000"}}})
    finally:
        admin.close()
    big = OutRecord(b"B" * 200_000, shard=1)
    records = [OutRecord(b"s%04d" % i, shard=0) for i in range(1500)]
    records.insert(1200, big)  # in the second request (records 1000..1500)
    with pytest.raises(PutIncomplete, match=r"1500 of 1501 records stored.*MessageSizeTooLarge") as failure:
        streams.put_records("projects/p1/small", records)
    assert not isinstance(failure.value, BackendUnavailable)  # refused: sending it again will not help
    assert failure.value.unsent(records) == [big]
    assert [p for p in failure.value.placed if p is not None] == [(0, s) for s in range(1, 1501)]
    assert [r.data for r in _read_all(streams, "projects/p1/small", 0)] == [b"s%04d" % i for i in range(1500)]
    assert streams.read("projects/p1/small", 1, 1) == []


def test_refused_and_lost_produce_answers_are_retried_and_stored_once(broker, streams):
    streams.create(PATH, shards=2)
    broker.fail_next(2, 6)  # NOT_LEADER_OR_FOLLOWER, twice: retriable, nothing applied
    first = streams.put_records(PATH, [OutRecord(b"a%d" % i, partition_key=f"k{i}") for i in range(20)])
    broker.drop_next(1, "Produce", after_apply=True)  # stored, but the answer is lost: the producer sends again
    second = streams.put_records(PATH, [OutRecord(b"b%d" % i, partition_key=f"k{i}") for i in range(20)])
    broker.drop_next(1, "Fetch")  # a fetch cut off: the consumer fetches again
    stored = {(r.shard, r.sequence): r.data for shard in range(2) for r in _read_all(streams, PATH, shard)}
    assert len(stored) == 40  # the idempotent producer's retry was not stored twice
    assert [stored[p] for p in first + second] == [b"a%d" % i for i in range(20)] + [b"b%d" % i for i in range(20)]


def test_one_backend_serves_threads_putting_reading_and_committing_at_once(streams):
    """As the local runtime uses it: one worker thread per shard, all on the same ``KafkaStreams``."""
    streams.create(PATH, shards=4)
    got: dict[int, list[bytes]] = {}

    def worker(shard):
        mine, position = [], 1
        for b in range(5):
            streams.put_records(PATH, [OutRecord(b"%d:%d:%d" % (shard, b, i), shard=shard) for i in range(40)])
            while page := streams.read(PATH, shard, position, limit=30):
                mine.extend(r.data for r in page)
                position = page[-1].sequence + 1
                streams.commit(PATH, "workers", shard, position)
        got[shard] = mine

    threads = [threading.Thread(target=worker, args=(shard,)) for shard in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    for shard in range(4):
        assert got[shard] == [b"%d:%d:%d" % (shard, b, i) for b in range(5) for i in range(40)]
        assert streams.committed(PATH, "workers", shard) == 201


def test_missing_topics_and_bad_arguments(broker, streams):
    with pytest.raises(NotFound, match="nope"):
        streams.read("projects/nope", 0, 1)
    streams.create(PATH)
    with pytest.raises(ValueError, match=r"shards 0\.\.0"):
        streams.read(PATH, 1, 1)
    with pytest.raises(ValueError, match="non-empty"):
        streams.commit(PATH, "", 0, 1)
    with pytest.raises(ValueError, match="unknown kafka-python settings: no_such_setting"):
        open_kafka_streams([broker.bootstrap], no_such_setting=1)
    with pytest.raises(ValueError, match="brokers"):
        open_kafka_streams("localhost:9092")  # a string, not a list


@pytest.mark.slow  # each call waits out its 2 s timeout while the broker is down
def test_an_unreachable_broker_is_unavailable_then_the_backend_recovers(tmp_path):
    data = tmp_path / "kafka-data"
    with KafkaTestBroker(data_dir=data) as first:
        bootstrap, port = first.bootstrap, first.port
        streams = open_kafka_streams([bootstrap], timeout_s=2)
        streams.create(PATH, shards=2)
        streams.put_records(PATH, [OutRecord(b"before", shard=0)])
        streams.commit(PATH, "g", 0, 2)
    try:
        for call in (lambda: streams.put_records(PATH, [OutRecord(b"during", shard=0)]),
                     lambda: streams.read(PATH, 0, 1),
                     lambda: streams.committed(PATH, "g", 0)):
            with pytest.raises(BackendUnavailable):
                call()
        with KafkaTestBroker(data_dir=data, port=port):
            assert streams.put_records(PATH, [OutRecord(b"after", shard=0)]) == [(0, 2)]
            assert [r.data for r in streams.read(PATH, 0, 1)] == [b"before", b"after"]  # "during" was refused
            assert streams.committed(PATH, "g", 0) == 2
    finally:
        streams.close()


def test_a_backend_opened_while_the_broker_is_down_waits_for_its_first_call(tmp_path):
    with KafkaTestBroker() as broker:
        bootstrap = broker.bootstrap
    streams = open_kafka_streams([bootstrap], timeout_s=1)  # nothing connects yet
    with pytest.raises(BackendUnavailable, match="Kafka"):
        streams.describe(PATH)
    streams.close()
