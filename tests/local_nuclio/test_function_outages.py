"""Under Nuclio's real commit rule (a failed record is passed over, never delivered again) the functions keep
their records themselves: a store outage is waited out in the handler, or the record is parked past the
retry deadline and handled when it comes back. Run in-process: a function host with its real triggers.

First a minimal function built on ``HandlerRetry`` (bundles/durable), then the stream function itself
(``functions/stream/handler.py``) with its TSDB out: issue 20's scenario, where with a handler that raises
the record is lost, and even a replay at its position would be skipped as already applied.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path

import pytest
from runtime_fixtures import BUNDLES, wait_for

from functions.stream import handler as stream_handler
from modelmon.backends import OutRecord, make_backend
from modelmon.core.config import Settings
from modelmon.core.errors import BackendError, BackendUnavailable
from modelmon.core.paths import ProjectPaths
from modelmon.core.timeutil import now_ms
from modelmon.endpoints.store import EndpointStore
from modelmon.events import DeadLetter
from modelmon.local_nuclio.handler import load_handler
from modelmon.local_nuclio.host import FunctionHost
from modelmon.local_nuclio.spec import load_bundle
from modelmon.local_nuclio.worker import make_logger
from modelmon.stream import read_predictions
from modelmon.testing import MemoryStream, stream_records

REPO = Path(__file__).resolve().parents[2]  # the repository checkout is the bundle
PATHS = ProjectPaths("test")
STREAM = PATHS.tracking_stream


def _start(bundle: Path, name: str, streams, extra_paths=()) -> FunctionHost:
    (spec,) = load_bundle(bundle, [name])
    handler = load_handler(spec, extra_paths=list(extra_paths))
    for attr in ("SEEN", "ATTEMPTS"):
        getattr(handler.module, attr, []).clear()
    if hasattr(handler.module, "STREAMS"):
        handler.module.STREAMS[:] = [streams]
    host = FunctionHost(spec, handler, project="test", logger=make_logger(name), streams=streams)
    host.start()
    return host


# ------------------------------------------------------------------------- a function on HandlerRetry

def _run_durable(records: list[dict], committed: int) -> tuple[FunctionHost, MemoryStream]:
    """Run the durable function on ``records`` (all on shard 0) until ``committed`` is the group's offset."""
    streams = MemoryStream()
    streams.create(STREAM)
    streams.put_records(STREAM, [OutRecord(json.dumps(r).encode(), shard=0) for r in records])
    host = _start(BUNDLES / "durable", "durable", streams)
    try:
        wait_for(lambda: streams.committed(STREAM, "durable", 0) == committed, what=f"offset {committed} committed")
    finally:
        host.stop()
    return host, streams


def test_an_outage_is_waited_out_in_the_handler_and_the_record_kept():
    host, streams = _run_durable([{"id": "a", "unavailable_times": 4}, {"id": "b"}], committed=3)
    mod = host.handler.module
    assert [(e["id"], e["position"]) for e in mod.SEEN] == [("a", (0, 1)), ("b", (0, 2))]  # in order
    assert mod.ATTEMPTS == {"a": 5, "b": 1}
    assert host.info()[0]["failed"] == 0 and len(stream_records(streams, STREAM)) == 2  # nothing parked


def test_past_the_deadline_the_record_is_parked_behind_the_others_and_handled_there(monkeypatch):
    monkeypatch.setenv("DURABLE_DEADLINE_S", "0.2")
    host, _ = _run_durable([{"id": "x", "out_until_parked": True}, {"id": "y"}], committed=4)
    assert [(e["id"], e["position"], e["origin"]) for e in host.handler.module.SEEN] == [
        ("y", (0, 2), None), ("x", (0, 3), (0, 1))]
    assert host.info()[0]["failed"] == 0


# ------------------------------------------------------------------------- the stream function

class TsdbOut:
    """The TSDB, out while ``out`` is set (framesd restarting): every write raises BackendUnavailable, or
    ``error`` when one is set (a failure that is no outage)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.out = False
        self.error: Exception | None = None
        self.failed = 0
        self._lock = threading.Lock()

    def write(self, *args, **kwargs):
        if self.out or self.error is not None:
            with self._lock:
                self.failed += 1
            raise self.error or BackendUnavailable("TSDB write: framesd UNAVAILABLE (test outage)")
        return self.inner.write(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture
def stream_function(home, monkeypatch):
    """``start(deadline_s)`` runs the bundle's stream function in-process with a TSDB that can be out."""
    monkeypatch.setenv("MODELMON_PROJECT", "test")
    settings = Settings(home=str(home), project="test")
    backend = make_backend(settings)
    tsdbs: list[TsdbOut] = []

    def with_tsdb_out(settings):
        real = make_backend(settings)
        tsdbs.append(TsdbOut(real.tsdb))
        return dataclasses.replace(real, tsdb=tsdbs[-1])

    monkeypatch.setattr(stream_handler, "make_backend", with_tsdb_out)
    hosts = []

    def start(deadline_s: int = 60) -> tuple[FunctionHost, TsdbOut]:
        monkeypatch.setenv("MODELMON_RETRY_DEADLINE_SECONDS", str(deadline_s))
        hosts.append(_start(REPO, "model-monitoring-stream", backend.streams))
        return hosts[-1], tsdbs[-1]

    yield start, backend
    for host in hosts:
        host.stop()
    backend.close()


def _tracking(start: int, n: int = 10) -> bytes:
    """An MLRun batched record of ``n`` requests of endpoint ``ep-out`` (no record_id, as MLRun sends)."""
    when = now_ms() - 3_600_000
    values = [[{"id": f"r{i}", "inputs": [[float(i), 1.0]]}, "infer", {"id": f"r{i}", "outputs": [i % 2]},
               when + i * 1000, 100, {}, None] for i in range(start, start + n)]
    return json.dumps({"class": "SKLearnModelServer", "worker": 0, "model": "churn", "version": "v1", "host": "h",
                       "function_uri": "test/serving:latest", "endpoint_id": "ep-out",
                       "headers": ["request", "op", "resp", "when", "microsec", "metrics", "error"],
                       "values": values}).encode()


def _stored(backend) -> tuple[int, int, int, int]:
    """(requests counted on the endpoint, sample rows, distinct request ids, predictions in the TSDB)."""
    endpoint = EndpointStore(backend.kv, PATHS).get("ep-out")
    rows = backend.samples.read("ep-out", 0, 2**62)
    predictions = read_predictions(backend.tsdb, PATHS.predictions_tsdb, "ep-out", 0, 2**62)
    return (endpoint.request_count if endpoint else 0, len(rows), rows["request_id"].nunique() if len(rows) else 0,
            int(predictions["count"].sum()) if len(predictions) else 0)


def _committed(backend) -> int | None:
    return backend.streams.committed(STREAM, "model-monitoring-stream", 0)


def test_a_tsdb_outage_loses_no_tracking_record(stream_function):
    start, backend = stream_function
    host, tsdb = start()
    tsdb.out = True
    backend.streams.put_records(STREAM, [OutRecord(_tracking(10 * k), shard=0) for k in range(3)])
    wait_for(lambda: tsdb.failed >= 3, what="the first record's TSDB write to fail a few times")
    tsdb.out = False
    wait_for(lambda: _committed(backend) == 4, what="every record committed")
    assert _stored(backend) == (30, 30, 30, 30)  # a handler that raised would have lost the first record
    assert host.info()[0]["failed"] == 0 and len(stream_records(backend.streams, STREAM)) == 3  # none parked


def test_a_tsdb_outage_past_the_deadline_parks_the_record_and_stores_it_once_later(stream_function):
    start, backend = stream_function
    host, tsdb = start(deadline_s=1)
    tsdb.out = True
    backend.streams.put_records(STREAM, [OutRecord(_tracking(10 * k), shard=0) for k in range(3)])
    wait_for(lambda: len(stream_records(backend.streams, STREAM)) == 4, what="the first record to be parked")
    tsdb.out = False
    wait_for(lambda: _committed(backend) == 5, what="the parked copy committed")
    # the copy came after records 2 and 3 (the shard's applied sequence was 3): counted once, and the rows
    # its first attempt wrote before the TSDB failed were replaced, not doubled
    assert _stored(backend) == (30, 30, 30, 30)
    assert host.info()[0]["failed"] == 0


def test_a_failure_that_is_no_outage_is_dead_lettered_by_the_function_and_the_rest_goes_on(stream_function,
                                                                                          monkeypatch):
    monkeypatch.setenv("MODELMON_MAX_RETRIES", "2")
    start, backend = stream_function
    host, tsdb = start()
    tsdb.error = BackendError("TSDB write: HTTP 500 internal error (test)")
    first = _tracking(0)
    backend.streams.put_records(STREAM, [OutRecord(first, shard=0)])
    wait_for(lambda: _committed(backend) == 2, what="the first record given up on")
    tsdb.error = None
    backend.streams.put_records(STREAM, [OutRecord(_tracking(10), shard=0)])
    wait_for(lambda: _committed(backend) == 3, what="the next record")
    (letter,) = [DeadLetter.from_body(r.data) for r in stream_records(backend.streams, PATHS.dead_letter_stream)]
    assert (letter.function, letter.source, letter.shard, letter.sequence, letter.attempts) == (
        "model-monitoring-stream", STREAM, 0, 1, 2)
    assert letter.reason == "BackendError: TSDB write: HTTP 500 internal error (test)"
    assert letter.payload == first  # replayable as it was sent
    assert tsdb.failed == 2 and _stored(backend)[0] == 10 and host.info()[0]["failed"] == 0
