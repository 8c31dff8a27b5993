"""The tracking client under the stream's size limits: a wide model's batches are split, an oversize request
is dropped with a reason, and a partly stored put sends only the rest (issue 20)."""

from __future__ import annotations

import json
import random

import nuclio_sdk
import pytest
from records import read_bodies
from v3io_server.stack import V3ioOpener, running_servers

from modelmon.backends.base import MAX_RECORD_BYTES
from modelmon.core.paths import ProjectPaths
from modelmon.tracking import ModelServer

PROJECT = "test"
STREAM = ProjectPaths(PROJECT).tracking_stream
FEATURES = 2_000


class SumServer(ModelServer):
    def predict(self, request):
        return [sum(row) for row in request["inputs"]]


@pytest.fixture
def servers_and_v3io():
    """``(v3io backend, web-API test server)``."""
    with running_servers() as (web, frames):
        opened = V3ioOpener(api=web.url, framesd=frames.address, port=web.port)()
        yield opened, web
        opened.close()


@pytest.fixture(params=["local", "v3io"])
def streams_of(request, backend):
    """``(backend, web server or None)``: the local backend, or the v3io backend on the test servers."""
    return (backend, None) if request.param == "local" else request.getfixturevalue("servers_and_v3io")


def _wide_rows(count, seed=1):
    rng = random.Random(seed)
    return [[round(rng.random(), 4) for _ in range(FEATURES)] for _ in range(count)]


def _ask(server, rows, prefix="r"):
    for i, row in enumerate(rows):
        server.do_event(nuclio_sdk.Event(body={"inputs": [row], "id": f"{prefix}{i:04d}"}, method="POST"))


def test_a_2000_feature_model_is_split_into_records_that_fit_and_nothing_is_dropped(streams_of):
    backend, _ = streams_of
    server = SumServer("wide", project=PROJECT, streams=backend.streams)
    client = server.set_tracking(max_delay_s=60)  # the default batch: 100 requests, ~1.6 MB as one record
    _ask(server, _wide_rows(250))
    assert client.flush(timeout=30)
    server.close()
    bodies = read_bodies(backend.streams, STREAM)
    sizes = [len(json.dumps(body, separators=(",", ":"))) for _, body in bodies]
    assert len(bodies) > 3 and max(sizes) <= MAX_RECORD_BYTES  # 3 batches, each cut into records that fit
    ids = [value[0]["id"] for _, body in bodies for value in body["values"]]
    assert ids == [f"r{i:04d}" for i in range(250)]  # every request once, in order
    assert len({body["record_id"] for _, body in bodies}) == len(bodies)  # each record its own id
    stats = client.stats()
    assert (stats["pushed"], stats["records"], stats["dropped"], stats["oversize"]) == (250, len(bodies), 0, 0)


def test_a_request_too_large_for_any_record_is_dropped_with_a_counted_reason_and_later_requests_flow(streams_of):
    backend, web = streams_of
    server = SumServer("huge", project=PROJECT, streams=backend.streams)
    client = server.set_tracking(batch=10, max_delay_s=0.05, max_backoff_s=0.05)
    backend.streams.create(STREAM)
    _ask(server, [[1.0, 2.0]] * 3, prefix="before")
    huge = [round(random.Random(2).random(), 6) for _ in range(150_000)]  # ~1.3 MB of JSON on its own
    server.do_event(nuclio_sdk.Event(body={"inputs": [huge], "id": "huge"}, method="POST"))
    _ask(server, [[3.0, 4.0]] * 25, prefix="after")
    assert client.flush(timeout=10)  # nothing is stuck retrying
    server.close()
    ids = [value[0]["id"] for _, body in read_bodies(backend.streams, STREAM) for value in body["values"]]
    assert ids == [f"before{i:04d}" for i in range(3)] + [f"after{i:04d}" for i in range(25)]
    stats = client.stats()
    assert (stats["pushed"], stats["dropped"], stats["oversize"], stats["push_errors"]) == (28, 1, 1, 0)
    assert "'huge'" in stats["last_drop"] and "1,048,576 bytes per record" in stats["last_drop"]
    if web is not None:  # the stream never refused anything: the huge request never went out
        assert sum(web.put_requests) == stats["records"]


def test_a_partly_stored_put_sends_again_only_the_records_not_stored(servers_and_v3io):
    backend, web = servers_and_v3io
    server = SumServer("wide", project=PROJECT, streams=backend.streams)
    client = server.set_tracking(max_delay_s=60, max_backoff_s=0.05)
    backend.streams.create(STREAM)
    web.throttle_records(b'"r0050"', times=12)  # the record holding r0050 outlasts the backend's 8 tries
    _ask(server, _wide_rows(100))
    assert client.flush(timeout=30)
    server.close()
    bodies = read_bodies(backend.streams, STREAM)
    ids = [value[0]["id"] for _, body in bodies for value in body["values"]]
    assert sorted(ids) == [f"r{i:04d}" for i in range(100)]  # each request stored once: nothing re-sent whole
    assert len({body["record_id"] for _, body in bodies}) == len(bodies) > 1
    first, *again = web.put_requests
    assert first == len(bodies) and again and set(again) == {1}  # later requests carried only the refused record
    stats = client.stats()
    assert stats["pushed"] == 100 and stats["push_errors"] >= 1 and "1 unsent" in stats["last_error"]
