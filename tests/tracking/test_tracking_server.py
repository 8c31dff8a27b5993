"""The example serving function and ModelServer: tracked requests reach the stream in MLRun's shape."""

from __future__ import annotations

import time

import nuclio_sdk
import pytest
from nuclio_sdk.test import Platform
from records import read_bodies, read_events
from streams import FlakyStream

from functions.serving import handler as serving
from modelmon.core.paths import ProjectPaths
from modelmon.core.timeutil import to_ms
from modelmon.events import endpoint_uid
from modelmon.stream.sampling import estimated_predictions
from modelmon.tracking import ModelServer

PROJECT = "test"
STREAM = ProjectPaths(PROJECT).tracking_stream
IRIS_ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]


class SlowServer(ModelServer):
    def __init__(self, *args, delay_s=0.0, fail=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.delay_s = delay_s
        self.fail = fail

    def predict(self, request):
        time.sleep(self.delay_s)
        if self.fail:
            raise RuntimeError("model exploded")
        return [sum(row) for row in request["inputs"]]


def event(body, event_id=None):
    return nuclio_sdk.Event(body=body, _id=event_id, method="POST")


def test_serving_function_reports_each_request_in_batched_mlrun_shape(home, backend, monkeypatch):
    monkeypatch.setenv("MODELMON_PROJECT", PROJECT)
    monkeypatch.setenv("TRACKING_BATCH", "2")
    platform = Platform()
    answers = [platform.call_handler(serving.handler, event({"inputs": [row], "id": f"req-{i}"}))
               for i, row in enumerate(IRIS_ROWS)]
    assert [a["outputs"] for a in answers] == [[0], [2], [1]]
    assert [a["id"] for a in answers] == ["req-0", "req-1", "req-2"]
    server = platform._handler_contexts[serving.handler].user_data.server
    assert server.tracking.flush(timeout=5)
    bodies = read_bodies(backend.streams, STREAM)
    expected_id = endpoint_uid(PROJECT, f"{PROJECT}/serving", "iris", None)
    assert [len(b["values"]) for _, b in bodies] == [2, 1]  # batch=2
    assert {key for key, _ in bodies} == {expected_id}  # partition key = endpoint id
    first = bodies[0][1]
    assert first["headers"][:5] == ["request", "op", "resp", "when", "microsec"]
    assert (first["model"], first["class"], first["function_uri"]) == ("iris", "IrisServer", f"{PROJECT}/serving")
    events = read_events(backend.streams, STREAM, PROJECT)
    request_ids = [rid for e in events for rid in e.request_ids]
    assert request_ids == ["req-0", "req-1", "req-2"]
    assert [rows for e in events for rows in e.inputs] == [[row] for row in IRIS_ROWS]
    assert [rows for e in events for rows in e.outputs] == [[[0]], [[2]], [[1]]]
    assert all(e.endpoint_id == expected_id for e in events)
    latencies = [m for e in events for m in e.microsec]
    assert all(isinstance(m, int) and 0 < m < 1_000_000 for m in latencies)
    assert server.tracking.stats()["pushed"] == 3


@pytest.mark.slow  # the model takes 1.2 s on purpose
def test_latency_above_one_second_is_recorded_in_full(backend):
    server = SlowServer("slow", project=PROJECT, streams=backend.streams, delay_s=1.2)
    server.set_tracking()
    before = time.time()
    server.do_event(event({"inputs": [[1.0, 2.0]]}, event_id="e-1"))
    server.close()
    (tracked,) = read_events(backend.streams, STREAM, PROJECT)
    assert tracked.request_ids == ["e-1"]  # Nuclio's event id when the body has none
    assert 1_200_000 <= tracked.microsec[0] < 3_000_000  # timedelta.microseconds would give ~200,000
    assert abs(to_ms(tracked.when[0]) / 1000 - before) < 1  # the start time, as UTC text


def test_model_error_is_tracked_as_error_event_and_still_raised(backend):
    server = SlowServer("broken", project=PROJECT, streams=backend.streams, fail=True)
    server.set_tracking()
    with pytest.raises(RuntimeError, match="model exploded"):
        server.do_event(event({"inputs": [[1.0]], "id": "bad"}))
    server.close()
    (tracked,) = read_events(backend.streams, STREAM, PROJECT)
    assert tracked.errors == ["RuntimeError: model exploded"]
    assert tracked.outputs == [None] and tracked.request_ids == ["bad"]


def test_stream_outage_never_fails_requests_and_counts_drops(backend):
    streams = FlakyStream(backend.streams)
    streams.down.set()
    server = SlowServer("flaky", project=PROJECT, streams=streams)
    client = server.set_tracking(batch=5, buffer_size=20, max_delay_s=0.05, max_backoff_s=0.05)
    answers = [server.do_event(event({"inputs": [[float(i)]], "id": f"r{i}"})) for i in range(50)]
    assert [a["outputs"] for a in answers] == [[float(i)] for i in range(50)]
    stats = client.stats()
    assert stats["recorded"] == 20 and stats["dropped"] == 30  # the buffer held 20, the rest were dropped
    assert streams.failed_puts >= 1 and stats["push_errors"] >= 1
    assert "stream is down" in stats["last_error"]
    streams.down.clear()  # the stream comes back: what was buffered gets through
    assert client.flush(timeout=5)
    server.close()
    events = read_events(backend.streams, STREAM, PROJECT)
    assert [rid for e in events for rid in e.request_ids] == [f"r{i}" for i in range(20)]
    assert client.stats()["pushed"] == 20 and client.stats()["dropped"] == 30


def test_sampling_tracks_the_requested_share(backend):
    server = SlowServer("sampled", project=PROJECT, streams=backend.streams)
    client = server.set_tracking(sampling_percentage=25, seed=7, batch=1000, buffer_size=1000)
    for i in range(400):
        server.do_event(event({"inputs": [[1.0]], "id": f"r{i}"}))
    server.close()
    stats = client.stats()
    assert stats["recorded"] + stats["sampled_out"] == 400
    assert 70 <= stats["recorded"] <= 130  # 25% of 400 = 100, seeded
    assert sum(len(e) for e in read_events(backend.streams, STREAM, PROJECT)) == stats["recorded"]
    # each record says how it was sampled, so the stream function estimates the 400 predictions (MLRun's rule)
    bodies = [body for _, body in read_bodies(backend.streams, STREAM)]
    assert {body["sampling_percentage"] for body in bodies} == {25}
    estimated = sum(estimated_predictions(body, event, single=False).sum()
                    for body, event in zip(bodies, read_events(backend.streams, STREAM, PROJECT), strict=True))
    assert estimated == 4 * stats["recorded"]


def test_unsampled_records_carry_no_sampling_field(backend):
    server = SlowServer("whole", project=PROJECT, streams=backend.streams)
    server.set_tracking(batch=10)
    server.do_event(event({"inputs": [[1.0]], "id": "r0"}))
    server.close()
    assert [("sampling_percentage" in body) for _, body in read_bodies(backend.streams, STREAM)] == [False]


def test_close_flushes_what_is_buffered(backend):
    server = SlowServer("closing", project=PROJECT, streams=backend.streams)
    client = server.set_tracking(batch=100, max_delay_s=60)  # nothing would be pushed for a minute
    for i in range(7):
        server.do_event(event({"inputs": [[1.0]], "id": f"r{i}"}))
    assert client.stats()["pushed"] == 0
    server.close()
    assert client.stats()["pushed"] == 7
    assert sum(len(e) for e in read_events(backend.streams, STREAM, PROJECT)) == 7


def test_bad_request_body_is_a_clear_error(backend):
    server = SlowServer("m", project=PROJECT, streams=backend.streams)
    with pytest.raises(ValueError, match="non-empty 'inputs' list"):
        server.do_event(event({"rows": [[1.0]]}))
    with pytest.raises(ValueError, match="needs the backend's streams"):
        SlowServer("m", project=PROJECT).set_tracking()
