"""A model server's own ``metrics`` as MLRun's *Custom Metrics* panel reads them (``events`` TSDB,
``record_type=='custom_metrics'``), on the V3IO and frames test servers through the real frames client.

The chain: ``ModelServer.set_metric`` → the tracking client sends them with each answered request (MLRun's
serving event ``metrics``) → the stream function (its ingestor, as deployed) writes each record's last
server metrics as a ``custom_metrics`` row (:func:`~modelmon.stream.live_stats.custom_metrics`).
"""

from __future__ import annotations

import time

import pytest
import v3io_frames
from v3io_server.stack import ACCESS_KEY, open_on, running_servers

from modelmon.core.paths import ProjectPaths
from modelmon.stream import Ingestor
from modelmon.stream.live_stats import custom_metrics
from modelmon.stream.parsing import parse_record
from modelmon.stream.record import RawRecord
from modelmon.testing import stream_records
from modelmon.tracking import ModelServer

PROJECT = "custom"
PATHS = ProjectPaths(PROJECT)


class Scorer(ModelServer):
    def predict(self, request):
        if request["inputs"][0][0] < 0:
            raise ValueError("negative input")
        return [sum(row) for row in request["inputs"]]


class _Event:
    def __init__(self, body):
        self.body, self.id = body, None


@pytest.fixture
def tracked():
    with running_servers() as (web, frames):
        _, backend = open_on(web, frames, PROJECT)
        backend.streams.create(PATHS.tracking_stream)
        backend.tsdb.create_table(PATHS.events_tsdb)
        server = Scorer("scorer", project=PROJECT, streams=backend.streams)
        server.set_tracking(batch=3, max_delay_s=30)
        client = v3io_frames.Client(address=frames.address, container="users", token=ACCESS_KEY)
        yield backend, server, client
        server.close()
        backend.close()


def test_custom_metrics_panel_shows_each_records_last_server_metrics(tracked):
    backend, server, client = tracked
    server.set_metric("accuracy", 0.9)
    server.set_metric("p-99", 12)
    for i in range(3):  # the first record: three answers carrying accuracy 0.9
        server.do_event(_Event({"inputs": [[1.0 + i]], "id": f"a{i}"}))
    time.sleep(0.005)  # the next record's requests start in a later millisecond (one TSDB row per series and time)
    server.set_metric("accuracy", 0.8)
    server.set_metric("note", "text is not charted")
    server.do_event(_Event({"inputs": [[2.0]], "id": "b0"}))
    with pytest.raises(ValueError):  # an error carries no metrics: the record's last answer does
        server.do_event(_Event({"inputs": [[-1.0]], "id": "b1"}))
    server.set_metric("accuracy", 0.7)
    server.do_event(_Event({"inputs": [[3.0]], "id": "b2"}))
    assert server.tracking.flush(timeout=5)
    ingestor = Ingestor(backend, PROJECT)
    ingestor.setup()
    written = []
    for stored in stream_records(backend.streams, PATHS.tracking_stream):
        raw = RawRecord(stored.data, stored.shard, stored.sequence)
        parsed = parse_record(raw, PROJECT)
        written.append(custom_metrics(parsed.data, parsed.positions, parsed.when_ms))
        ingestor.process(raw)
    assert [metrics for _, metrics in written] == [{"accuracy": 0.9, "p-99": 12.0}, {"accuracy": 0.7, "p-99": 12.0}]
    frame = client.read(backend="tsdb", table=PATHS.events_tsdb.removeprefix("users/"), start="0", end="now",
                        filter=f"endpoint_id=='{server.endpoint_id}'  AND record_type=='custom_metrics'")
    assert [int(t.value // 1_000_000) for t in frame.index] == [at for at, _ in written]
    assert frame[["accuracy", "p_99"]].values.tolist() == [[0.9, 12.0], [0.7, 12.0]]  # MLRun's column names
    assert "note" not in frame.columns
