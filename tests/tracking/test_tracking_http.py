"""The example serving function under the local runtime: real HTTP requests, tracked into the stream and ingested."""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from types import SimpleNamespace

import nuclio_sdk
import pytest
from records import read_bodies, read_events

from modelmon.core.paths import ProjectPaths
from modelmon.endpoints.registration import get_model_endpoint
from modelmon.events import endpoint_uid
from modelmon.local_nuclio.handler import load_handler
from modelmon.local_nuclio.host import FunctionHost
from modelmon.local_nuclio.spec import load_function
from modelmon.local_nuclio.worker import make_logger
from modelmon.stream import Ingestor, RawRecord
from modelmon.tracking import TrackedModel, TrackingClient, tracked

PROJECT = "test"
ROOT = Path(__file__).resolve().parents[2]
STREAM = ProjectPaths(PROJECT).tracking_stream


def post(port, body):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", "/", body=json.dumps(body), headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_http_requests_to_the_serving_function_become_sample_rows(home, backend, monkeypatch):
    monkeypatch.setenv("MODELMON_PROJECT", PROJECT)
    monkeypatch.setenv("TRACKING_MAX_DELAY_S", "0.05")
    spec = load_function(ROOT / "functions" / "serving" / "function.yaml")
    host = FunctionHost(spec, load_handler(spec), project=PROJECT, logger=make_logger(spec.name))
    host.start()
    try:
        port = host.info()[0]["port"]
        answers = [post(port, {"inputs": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]], "id": f"http-{i}"})
                   for i in range(10)]
        bad = post(port, {"rows": []})
    finally:
        host.stop()  # the termination callback flushes what is buffered
    assert {(status, tuple(body["outputs"])) for status, body in answers} == {(200, (0, 2))}
    assert bad[0] == 400 and "inputs" in bad[1]["error"]
    events = read_events(backend.streams, STREAM, PROJECT)
    assert sorted(rid for e in events for rid in e.request_ids) == sorted(f"http-{i}" for i in range(10))
    ingestor = Ingestor(backend, PROJECT)
    ingestor.setup()
    for _, body in read_bodies(backend.streams, STREAM):
        ingestor.process(RawRecord(body))
    endpoint_id = endpoint_uid(PROJECT, f"{PROJECT}/serving", "iris", None)
    endpoint = get_model_endpoint(backend, PROJECT, endpoint_id)
    assert endpoint.request_count == 10 and endpoint.feature_names == ["f0", "f1", "f2", "f3"]
    samples = backend.samples.read(endpoint_id, endpoint.first_request_ms, endpoint.last_request_ms + 1)
    assert len(samples) == 20 and list(samples["p0"]).count(2.0) == 10
    assert (samples["latency_us"] > 0).all()


def test_tracked_decorator_reports_calls_and_errors(backend):
    client = TrackingClient(backend.streams, STREAM, TrackedModel("plain", f"{PROJECT}/plain", version="2"))
    context = SimpleNamespace(user_data=SimpleNamespace(tracking=client))

    @tracked
    def handler(context, event):
        if event.body["inputs"] == [[0]]:
            raise ZeroDivisionError("division by zero")
        return {"outputs": [row[0] * 2 for row in event.body["inputs"]]}

    assert handler(context, nuclio_sdk.Event(body={"inputs": [[1], [2]], "id": "ok"})) == {"outputs": [2, 4]}
    with pytest.raises(ZeroDivisionError):
        handler(context, nuclio_sdk.Event(body={"inputs": [[0]]}, _id="nuclio-7"))
    untracked = SimpleNamespace(user_data=SimpleNamespace())
    assert handler(untracked, nuclio_sdk.Event(body={"inputs": [[3]]})) == {"outputs": [6]}
    client.close()
    (event,) = read_events(backend.streams, STREAM, PROJECT)
    assert event.request_ids == ["ok", "nuclio-7"] and event.version == "2"
    assert event.outputs == [[[2], [4]], None] and event.errors == [None, "ZeroDivisionError: division by zero"]
    assert event.endpoint_id == endpoint_uid(PROJECT, f"{PROJECT}/plain", "plain", "2")
