"""The storey graph: a backend failure raises out of the handler (no ack) and the next record still flows."""

from __future__ import annotations

import dataclasses
import json

import pytest
from ingest_fixtures import PROJECT, batched, entry

from modelmon.backends.local import open_local_backend
from modelmon.core.errors import BackendUnavailable
from modelmon.core.paths import ProjectPaths
from modelmon.core.timeutil import to_ms
from modelmon.endpoints.record import ModelEndpoint
from modelmon.stream import IngestFlow, Ingestor, RawRecord

T0 = to_ms("2024-03-01 12:00:00")


class FlakySamples:
    """The local sample store, failing the next ``failures`` appends (a full disk, a lost mount)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.failures = 0

    def append(self, endpoint_id, df, batch_id):
        if self.failures:
            self.failures -= 1
            raise BackendUnavailable("sample store unavailable (test outage)")
        self.inner.append(endpoint_id, df, batch_id)

    def read(self, *args, **kwargs):
        return self.inner.read(*args, **kwargs)


@pytest.fixture
def flaky(home):
    backend = open_local_backend(home)
    samples = FlakySamples(backend.samples)
    ingestor = Ingestor(dataclasses.replace(backend, samples=samples), PROJECT)
    ingestor.setup()
    flow = IngestFlow(ingestor)
    yield flow, samples, backend
    flow.close()
    backend.close()


def _body(start: int) -> bytes:
    entries = [entry(start + i, [float(i), 1.0], [0], T0 + 1000 * (start + i)) for i in range(10)]
    return json.dumps(batched(entries, endpoint_id="ep-flaky")).encode()


def test_failed_write_is_not_acknowledged_and_the_retry_counts_once(flaky):
    flow, samples, backend = flaky
    assert flow.process(RawRecord(_body(0), 0, 1)).requests == 10
    samples.failures = 1
    with pytest.raises(BackendUnavailable, match="test outage"):
        flow.process(RawRecord(_body(10), 0, 2))
    item = backend.kv.get(ProjectPaths(PROJECT).endpoints_table, "ep-flaky")
    ep = ModelEndpoint.from_item(item)
    assert (ep.request_count, ep.watermark_ms) == (10, T0 + 9000 + 1)  # the watermark did not move

    report = flow.process(RawRecord(_body(10), 0, 2))  # the platform redelivers; a new flow takes it
    assert (report.requests, report.duplicate) == (10, False)
    ep = ModelEndpoint.from_item(backend.kv.get(ProjectPaths(PROJECT).endpoints_table, "ep-flaky"))
    assert (ep.request_count, ep.watermark_ms) == (20, T0 + 19_000 + 1)
    assert len(samples.read("ep-flaky", 0, 2**62)) == 20


def test_memory_holds_one_cached_record_per_endpoint(flaky):
    flow = flaky[0]
    for k in range(30):
        body = json.dumps(batched([entry(k, [1.0, 2.0], [0], T0 + k)], endpoint_id=f"ep-{k % 3}")).encode()
        flow.process(RawRecord(body, 0, k + 1))
    assert len(flow.ingestor.endpoints) == 3


def test_two_workers_on_one_endpoint_never_lose_counts_or_move_the_watermark_back(home):
    """Records of one endpoint on two shards, read by two workers with stale caches: the CAS retries."""
    backends = [open_local_backend(home) for _ in range(2)]
    workers = [Ingestor(backend, PROJECT) for backend in backends]
    workers[0].setup()
    try:
        late_first = [(1, 0), (0, 1), (1, 2), (0, 3), (1, 4), (0, 5)]  # (worker/shard, record number)
        for shard, k in late_first:
            offset = k + 1
            body = json.dumps(batched([entry(k, [1.0, 2.0], [0], T0 + (10 - k) * 1000 if shard else T0 + k * 1000,
                                             100)], endpoint_id="ep-shared")).encode()
            assert workers[shard].process(RawRecord(body, shard, offset)).requests == 1
        item = backends[0].kv.get(ProjectPaths(PROJECT).endpoints_table, "ep-shared")
        ep = ModelEndpoint.from_item(item)
        assert (ep.request_count, ep.latency_sum_us) == (6, 600.0)
        assert (ep.first_request_ms, ep.last_request_ms, ep.watermark_ms) == (T0 + 1000, T0 + 10_000, T0 + 10_001)
        assert (item["ingest_seq_0"], item["ingest_seq_1"]) == (6, 5)
    finally:
        for backend in backends:
            backend.close()
