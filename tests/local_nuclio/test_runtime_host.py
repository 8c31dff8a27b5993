"""A function host run in-process: cron, HTTP and stream triggers with real workers and contexts."""

from __future__ import annotations

import http.client
import json
import threading
import time

import pytest
from runtime_fixtures import BUNDLES, wait_for

from modelmon.backends.base import OutRecord, SeekTo
from modelmon.core.paths import ProjectPaths
from modelmon.events import DeadLetter
from modelmon.local_nuclio.handler import load_handler
from modelmon.local_nuclio.host import FunctionHost
from modelmon.local_nuclio.spec import load_bundle
from modelmon.local_nuclio.worker import make_logger
from modelmon.testing import MemoryStream

STREAM = "projects/test/model-endpoints/stream"


def start_host(name, streams=None, fresh=True, **kwargs) -> FunctionHost:
    """Start function ``name`` of the demo bundle, by default after clearing its handler module's recorded
    state (``fresh=False``: a restarted process of a handler whose failures depend on earlier attempts)."""
    (spec,) = load_bundle(BUNDLES / "demo", [name])
    handler = load_handler(spec)
    for attr in ("SEEN", "ATTEMPTS", "TERMINATED", "TICKS", "FIRED") if fresh else ():
        getattr(handler.module, attr, {}).clear()
    host = FunctionHost(spec, handler, project="test", logger=make_logger(name), streams=streams,
                        retry_backoff_s=0.01, **kwargs)
    host.start()
    return host



def _cron_threads_alive(trigger_name: str) -> bool:
    return any(t.name == f"cron-{trigger_name}" and t.is_alive() for t in threading.enumerate())


# No timing windows below: on a busy machine a tick may be late by any amount, never early. So the tests
# wait (with a deadline) for what must happen and assert only lower bounds that hold however late it is,
# with EARLY_S of slack for the wall clock (time.time) drifting from the monotonic one the trigger waits on.
EARLY_S = 0.01


def test_cron_interval_fires_with_configured_body():
    started = time.time()
    host = start_host("ticker")
    ticks = host.handler.module.TICKS
    try:
        wait_for(lambda: len(ticks) >= 4, what="4 cron ticks")
    finally:
        host.stop()
    count = len(ticks)  # stop() has returned: no tick may be delivered from here on
    assert host.info()[0]["schedule"] == "every 0.1s"
    assert {(body, headers["X-Source"]) for _, body, headers in ticks} == {(b"tick", "cron")}
    # tick k is due k intervals after the trigger started (later if ticks were skipped), never sooner
    assert all(when >= started + k * 0.1 - EARLY_S for k, (when, _, _) in enumerate(ticks, 1)), ticks
    wait_for(lambda: not _cron_threads_alive("every-100ms"), what="the cron thread to end")
    assert len(ticks) == count


@pytest.mark.slow  # waits for two whole-second ticks: 1-2 s
def test_cron_schedule_fires_on_second_boundaries_with_json_body():
    host = start_host("scheduled")
    fired = host.handler.module.FIRED
    try:
        wait_for(lambda: len(fired) >= 2, what="2 scheduled ticks")
    finally:
        host.stop()
    assert fired[0][1] == {"job": "sweep"}
    schedule = host.triggers[0].schedule
    assert all(schedule.next_after(when).is_integer() for when, _ in fired)  # due on whole seconds
    # the next tick is due on the first whole second after the last one ran
    assert int(fired[1][0] + EARLY_S) > int(fired[0][0])


def request(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type"), resp.read(), dict(resp.getheaders())
    finally:
        conn.close()


def test_http_round_trip(monkeypatch):
    monkeypatch.setenv("GREETING", "hello")
    host = start_host("echo")
    try:
        (info,) = host.info()
        port = info["port"]
        assert info["host"] == "127.0.0.1" and port > 0
        status, ctype, body, _ = request(port, "POST", "/predict?model=m1", b'{"inputs": [1, 2]}',
                                         {"Content-Type": "application/json"})
        assert (status, ctype) == (200, "application/json")
        echoed = json.loads(body)
        assert echoed["method"] == "POST" and echoed["path"] == "/predict"
        assert echoed["fields"] == {"model": "m1"} and echoed["body"] == {"inputs": [1, 2]}
        assert echoed["greeting"] == "hello" and echoed["trigger"] == ["http", "http"]
        assert json.loads(request(port, "PUT", "/", b"plain")[2])["body"] == "plain"
        assert request(port, "GET", "/text?name=ann")[:3] == (200, "text/plain", b"hello ann")
        assert request(port, "GET", "/bytes")[:3] == (200, "application/octet-stream", b"\x00\x01raw")
        status, ctype, body, headers = request(port, "GET", "/created")
        assert (status, ctype, json.loads(body), headers["X-Made"]) == (201, "application/json", {"made": True}, "yes")
        status, _, body, _ = request(port, "GET", "/fail")
        assert (status, body) == (500, b"RuntimeError: asked to fail")
        calls = sum(w.context.user_data.calls for w in host.triggers[0].workers)
        assert calls == 6 and len(host.triggers[0].workers) == 2
    finally:
        host.stop()
    with pytest.raises(OSError):
        request(port, "GET", "/text")


def put(streams, records):
    """Put JSON records with explicit shards: ``records`` is a list of (shard, dict)."""
    return streams.put_records(STREAM, [OutRecord(json.dumps(r).encode(), shard=s) for s, r in records])


def test_stream_delivers_in_order_per_shard_split_across_workers():
    streams = MemoryStream()
    streams.create(STREAM, shards=4)
    put(streams, [(i % 4, {"id": f"r{i}"}) for i in range(40)])
    host = start_host("consumer", streams)
    seen = host.handler.module.SEEN
    try:
        wait_for(lambda: len(seen) == 40)
    finally:
        host.stop()
    for shard in range(4):
        offsets = [e["offset"] for e in seen if e["shard"] == shard]
        assert offsets == list(range(1, 11))
        assert {e["worker"] for e in seen if e["shard"] == shard} == {shard % 2}  # worker i owns i, i+2
        assert streams.committed(STREAM, "consumer", shard) == 11
    first = seen[0]
    assert (first["topic"], first["body_type"], first["trigger"], first["num_shards"]) == (
        STREAM, "bytes", ("v3ioStream", "tracking"), 4)
    assert sorted(host.handler.module.TERMINATED) == [0, 1]  # one callback per worker


# Nuclio's default mode (explicitAckMode: disable): nuclio pkg/processor/trigger/v3iostream/trigger.go and
# kafka/trigger.go ConsumeClaim mark a record only when the handler returned without an error, and go on with
# the next one either way; v3io-go keeps the last marked sequence number per shard. So a failed record is
# never delivered again, except after a restart when no later record was marked.

def test_a_failed_record_is_passed_over_and_the_next_mark_commits_past_it():
    streams = MemoryStream()
    streams.create(STREAM, shards=1)
    put(streams, [(0, {"id": "a"}), (0, {"id": "b", "fail_times": 1}), (0, {"id": "c", "unavailable_times": 1}),
                  (0, {"id": "d"})])
    streams.commit(STREAM, "consumer", 0, 1)
    host = start_host("consumer", streams)
    mod = host.handler.module
    try:
        wait_for(lambda: streams.committed(STREAM, "consumer", 0) == 5, what="the commit past d")
    finally:
        host.stop()
    assert [e["id"] for e in mod.SEEN] == ["a", "d"]
    assert mod.ATTEMPTS == {"a": 1, "b": 1, "c": 1, "d": 1}  # neither an error nor an outage is retried
    assert host.info()[0]["failed"] == 2 and host.info()[0]["delivered"] == 2
    assert _dead_letters(streams) == []  # and the runtime writes no dead letter: Nuclio has none


def test_a_failed_last_record_stays_uncommitted_and_comes_back_only_after_a_restart():
    streams = MemoryStream()
    streams.create(STREAM, shards=1)
    put(streams, [(0, {"id": "a"}), (0, {"id": "b", "fail_times": 1})])
    host = start_host("consumer", streams)
    mod = host.handler.module
    try:
        wait_for(lambda: host.info()[0]["failed"] == 1, what="b to fail")
        put(streams, [(0, {"id": "c"})])
        wait_for(lambda: [e["id"] for e in mod.SEEN] == ["a", "c"], what="c handled after b failed")
    finally:
        host.stop()
    assert mod.ATTEMPTS == {"a": 1, "b": 1, "c": 1} and streams.committed(STREAM, "consumer", 0) == 4

    put(streams, [(0, {"id": "d", "fail_times": 1})])
    host = start_host("consumer", streams, fresh=False)  # d fails; nothing marked after it
    try:
        wait_for(lambda: host.info()[0]["failed"] == 1, what="d to fail")
    finally:
        host.stop()
    assert streams.committed(STREAM, "consumer", 0) == 4  # d is not covered by any mark

    host = start_host("consumer", streams, fresh=False)  # a restart reads from the commit: d again
    try:
        wait_for(lambda: [e["id"] for e in mod.SEEN][-1:] == ["d"], what="d delivered again")
    finally:
        host.stop()
    assert mod.ATTEMPTS["d"] == 2 and streams.committed(STREAM, "consumer", 0) == 5


def test_latest_seek_pins_the_start_so_a_restart_misses_nothing(tmp_path):
    text = (BUNDLES / "demo" / "consumer" / "function.yaml").read_text().replace("earliest", "latest")
    (tmp_path / "consumer").mkdir()
    (tmp_path / "consumer" / "function.yaml").write_text(text)
    (tmp_path / "consumer" / "consumer_handler.py").write_text(
        (BUNDLES / "demo" / "consumer" / "consumer_handler.py").read_text())
    streams = MemoryStream()
    streams.create(STREAM, shards=1)
    put(streams, [(0, {"id": "old"})])
    (spec,) = load_bundle(tmp_path)
    host = FunctionHost(spec, load_handler(spec), project="test", logger=make_logger("c"), streams=streams)
    host.start()
    host.stop()
    assert streams.committed(STREAM, "consumer", 0) == streams.seek(STREAM, 0, SeekTo.LATEST) == 2


def _dead_letters(streams):
    path = ProjectPaths("test").dead_letter_stream
    try:
        return [DeadLetter.from_body(r.data) for r in streams.read(path, 0, 1)]
    except KeyError:  # NotFound: never created
        return []


def test_kafka_topics_map_to_streams_and_split_across_workers(tmp_path):
    (tmp_path / "function.yaml").write_text(
        "metadata: {name: kafka-consumer}\n"
        "spec:\n"
        "  handler: consumer_handler:handler\n"
        "  triggers:\n"
        "    orders:\n"
        "      kind: kafka-cluster\n"
        "      numWorkers: 2\n"
        "      attributes: {topics: [orders, returns], consumerGroup: g, initialOffset: earliest,\n"
        "                   pollingIntervalMs: 10}\n"
    )
    streams = MemoryStream()
    for topic in ("orders", "returns"):
        streams.create(topic, shards=1)
        streams.put_records(topic, [OutRecord(json.dumps({"id": f"{topic}-{i}"}).encode()) for i in range(3)])
    (spec,) = load_bundle(tmp_path)
    handler = load_handler(spec, extra_paths=[BUNDLES / "demo" / "consumer"])
    handler.module.SEEN.clear(), handler.module.ATTEMPTS.clear()
    host = FunctionHost(spec, handler, project="test", logger=make_logger("k"), streams=streams)
    host.start()
    try:
        wait_for(lambda: len(handler.module.SEEN) == 6)
    finally:
        host.stop()
    by_topic = {t: [(e["id"], e["worker"], e["trigger"][0]) for e in handler.module.SEEN if e["topic"] == t]
                for t in ("orders", "returns")}
    assert by_topic == {
        "orders": [(f"orders-{i}", 0, "kafka-cluster") for i in range(3)],
        "returns": [(f"returns-{i}", 1, "kafka-cluster") for i in range(3)],
    }
    assert streams.committed("orders", "g", 0) == streams.committed("returns", "g", 0) == 4


def test_streams_named_for_the_deploy_project_are_read_in_the_runtime_project(tmp_path):
    (tmp_path / "function.yaml").write_text(
        "metadata: {name: app}\n"
        "spec:\n"
        "  handler: consumer_handler:handler\n"
        "  env: [{name: MODELMON_PROJECT, value: default}]\n"
        "  triggers:\n"
        "    windows:\n"
        "      kind: v3ioStream\n"
        "      attributes: {containerName: projects, streamPath: default/model-endpoints/stream-app,\n"
        "                   seekTo: earliest, pollingIntervalMs: 10}\n"
    )
    streams = MemoryStream()
    (spec,) = load_bundle(tmp_path)
    handler = load_handler(spec, extra_paths=[BUNDLES / "demo" / "consumer"])
    handler.module.SEEN.clear(), handler.module.ATTEMPTS.clear()
    host = FunctionHost(spec, handler, project="test", logger=make_logger("app"), streams=streams)
    host.start()
    try:
        mine = ProjectPaths("test").app_stream("app")
        streams.put_records(mine, [OutRecord(b'{"id": "w1"}')])
        wait_for(lambda: len(handler.module.SEEN) == 1)
    finally:
        host.stop()
    assert handler.module.SEEN[0]["topic"] == mine == "projects/test/model-endpoints/stream-app"
    assert host.info()[0]["paths"] == [mine] and host.info()[0]["group"] == "app-windows"
