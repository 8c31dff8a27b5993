"""EndpointStore against the local backend: counting once, interleaved writers, tolerant reads."""

from __future__ import annotations

import pytest

from modelmon.backends.local import open_local_backend
from modelmon.core.errors import BackendUnavailable
from modelmon.endpoints.cache import EndpointCache
from modelmon.endpoints.record import ModelEndpoint
from modelmon.endpoints.store import EndpointStore, JobBatch
from modelmon.events import TrackingEvent
from modelmon.stream.aggregate import Totals
from modelmon.stream.record import RawRecord

PROJECT = "test"  # the project of the ``backend`` fixture's settings
T0 = 1_700_000_000_000


def _event(endpoint_id: str = "ep") -> TrackingEvent:
    """A tracking record of ``churn`` without requests: all the cache reads on first sight."""
    return TrackingEvent(endpoint_id=endpoint_id, function_uri=f"{PROJECT}/serving", model="churn", version=None,
                         model_class="", labels={}, request_ids=[], inputs=[], outputs=[], when=[], microsec=[],
                         errors=[])


def _totals(requests: int, first: int, last: int, errors: int = 0, latency: float = 0.0) -> Totals:
    return Totals(requests=requests, errors=errors, latency_sum_us=latency, first_ms=first, last_ms=last)


@pytest.fixture
def store(backend) -> EndpointStore:
    endpoints = EndpointStore(backend.kv, PROJECT)
    endpoints.create(ModelEndpoint("ep", name="churn", project=PROJECT))
    return endpoints


def test_a_batch_applied_again_is_counted_once(store):
    first = store.count("ep", JobBatch("b1"), _totals(10, T0, T0 + 9), T0 + 10, (["x"], ["y"]))
    again = store.count("ep", JobBatch("b1"), _totals(10, T0, T0 + 9), T0 + 10, (["x"], ["y"]))

    assert (first.applied, again.applied) == (True, False)
    item = store.item("ep")
    assert (item["request_count"], item["ingest_version"], item["ingest_last_batch"]) == (10, 1, "b1")
    assert "batch_last_id" not in item  # batch inference no longer writes an attribute of its own
    assert (store.get("ep").feature_names, store.get("ep").label_names) == (["x"], ["y"])


def test_a_batch_re_applied_from_a_stale_copy_is_still_counted_once(store):
    stale = store.item("ep")
    store.count("ep", JobBatch("b1"), _totals(10, T0, T0 + 9), T0 + 10)

    counted = store.count("ep", JobBatch("b1"), _totals(10, T0, T0 + 9), T0 + 10, item=stale)

    assert (counted.applied, counted.reread) == (False, True)
    assert store.get("ep").request_count == 10


def test_an_item_from_an_older_version_keeps_its_batch_last_id_as_the_last_batch(backend, store):
    backend.kv.update(store.paths.endpoints_table, "ep", {"batch_last_id": "old-run"})

    assert not store.count("ep", JobBatch("old-run"), _totals(5, T0, T0), T0 + 1).applied
    assert store.count("ep", JobBatch("new-run"), _totals(5, T0, T0), T0 + 1).applied
    item = store.item("ep")
    assert (item["request_count"], item["ingest_last_batch"], item["batch_last_id"]) == (5, "new-run", "old-run")


def test_a_batch_re_run_after_other_position_less_data_still_counts_once(store):
    """Position-less stream records (HTTP) replace the last batch; the batch's id is among the recent ids too."""
    assert store.count("ep", JobBatch("job-1"), _totals(10, T0, T0 + 9), T0 + 10).applied
    assert store.count("ep", RawRecord(b'{"http": 1}'), _totals(1, T0, T0), T0 + 10).applied

    assert not store.count("ep", JobBatch("job-1"), _totals(10, T0, T0 + 9), T0 + 10).applied
    assert store.get("ep").request_count == 11


@pytest.fixture
def stream(home):
    """The stream function's cache, on a backend of its own (another process than the batch job's)."""
    backend = open_local_backend(home)
    yield EndpointCache(EndpointStore(backend.kv, PROJECT), clock=lambda: T0)
    backend.close()


def test_stream_records_and_batches_interleaved_on_one_endpoint_each_count_once(store, stream):
    """The stream function counts from its cache while a batch job counts into the same endpoint."""
    stream.get_or_create(_event(), T0)
    records = [RawRecord(b"{}", shard=0, sequence=seq) for seq in (1, 2, 3)]

    assert stream.apply("ep", records[0], _totals(3, T0, T0 + 2, errors=1, latency=30.0), T0 + 3, None)
    assert store.count("ep", JobBatch("b1"), _totals(100, T0 - 50, T0 + 500), T0 + 501).applied
    # the cache's copy is stale now: its compare-and-set fails, it re-reads and counts the record once
    assert stream.apply("ep", records[1], _totals(4, T0 + 3, T0 + 6), T0 + 7, None)
    assert not stream.apply("ep", records[1], _totals(4, T0 + 3, T0 + 6), T0 + 7, None)  # redelivered
    assert not store.count("ep", JobBatch("b1"), _totals(100, T0 - 50, T0 + 500), T0 + 501).applied  # re-run
    assert stream.apply("ep", records[2], _totals(2, T0 + 7, T0 + 8), T0 + 9, None)

    endpoint = store.get("ep")
    assert (endpoint.request_count, endpoint.error_count, endpoint.latency_sum_us) == (109, 1, 30.0)
    assert (endpoint.first_request_ms, endpoint.last_request_ms, endpoint.watermark_ms) == (T0 - 50, T0 + 500, T0 + 501)
    item = store.item("ep")
    assert (item["ingest_version"], item["ingest_seq_0"], item["ingest_last_batch"]) == (4, 3, "b1")
    assert stream.already_applied("ep", records[0]) and stream.already_applied("ep", JobBatch("b1"))


def test_the_watermark_and_request_times_never_move_back(store):
    store.count("ep", JobBatch("late"), _totals(1, T0 + 1_000, T0 + 2_000), T0 + 2_001)
    store.count("ep", JobBatch("early"), _totals(1, T0, T0 + 500), T0 + 501)

    endpoint = store.get("ep")
    assert (endpoint.first_request_ms, endpoint.last_request_ms, endpoint.watermark_ms) == (T0, T0 + 2_000, T0 + 2_001)
    assert endpoint.request_count == 2


def test_names_are_stored_only_when_the_endpoint_has_none(store):
    store.register(ModelEndpoint("ep", feature_names=["age", "income"], label_names=["churned"]),
                   ["feature_names", "label_names"])
    store.count("ep", JobBatch("b1"), _totals(1, T0, T0), T0 + 1, (["f0", "f1"], ["p0"]))

    endpoint = store.get("ep")
    assert (endpoint.feature_names, endpoint.label_names, endpoint.name) == (["age", "income"], ["churned"], "churn")


def test_registering_an_existing_endpoint_keeps_its_counts_and_invalidates_cached_copies(store):
    store.count("ep", JobBatch("b1"), _totals(7, T0, T0 + 6), T0 + 7)
    cached = store.item("ep")
    store.register(ModelEndpoint("ep", model_uri="store://models/churn", created_ms=1), ["model_uri"])

    endpoint = store.get("ep")
    assert (endpoint.model_uri, endpoint.request_count, endpoint.watermark_ms, endpoint.name) == (
        "store://models/churn", 7, T0 + 7, "churn")
    assert endpoint.created_ms is None  # created_ms belongs to the first write, not to registration
    counted = store.count("ep", JobBatch("b2"), _totals(1, T0 + 8, T0 + 8), T0 + 9, item=cached)
    assert (counted.applied, counted.reread) == (True, True)
    assert counted.item["model_uri"] == "store://models/churn"


def test_create_keeps_the_record_that_was_there_first(store):
    item = store.create(ModelEndpoint("ep", name="other-name"))

    assert item["name"] == "churn"
    assert store.get("ep").name == "churn"


def test_damaged_attributes_read_as_absent(backend, store):
    backend.kv.put(store.paths.endpoints_table, "bad", {
        "endpoint_id": "bad", "name": "fraud", "labels": "{not json", "feature_names": '{"a": 1}',
        "feature_stats": '{"age": {"mean": 3}}', "first_request_ms": "yesterday", "watermark_ms": True,
        "request_count": 12, "latency_sum_us": 5, "drift_status": None,
    })

    endpoint = store.get("bad")
    assert (endpoint.name, endpoint.labels, endpoint.feature_names) == ("fraud", {}, [])
    assert (endpoint.first_request_ms, endpoint.watermark_ms, endpoint.drift_status) == (None, None, -1)
    assert (endpoint.request_count, endpoint.latency_sum_us, endpoint.feature_stats) == (12, 5, {"age": {"mean": 3}})
    listed = {e.endpoint_id: e for e in store.scan(brief=True)}
    assert set(listed) == {"ep", "bad"}
    assert listed["bad"].feature_stats == {} and listed["bad"].name == "fraud"  # brief: statistics not decoded
    assert [e.endpoint_id for e in store.scan(name="fraud")] == ["bad"]


def test_counting_into_a_deleted_endpoint_raises_and_the_cache_forgets_it(backend, store):
    cache = EndpointCache(store, clock=lambda: T0)
    cache.get_or_create(_event(), T0)
    backend.kv.delete(store.paths.endpoints_table, "ep")

    with pytest.raises(BackendUnavailable, match="deleted"):
        cache.apply("ep", RawRecord(b"{}", shard=0, sequence=1), _totals(1, T0, T0), T0 + 1, None)
    assert len(cache) == 0
    assert store.item("ep") is None  # not resurrected as a partial item


def test_the_item_carries_mlruns_attributes(backend, store):
    assert {k: store.item("ep")[k] for k in ("uid", "endpoint_type")} == {"uid": "ep", "endpoint_type": 1}
    backend.kv.put(store.paths.endpoints_table, "old",
                   {"endpoint_id": "old", "ingest_version": 0})  # written before modelmon kept them
    store.count("old", JobBatch("b0"), _totals(1, T0, T0), None)
    store.count("ep", JobBatch("b1"), _totals(3, T0 + 1500, T0 + 61_000), None, extra={"metrics": '{"generic": {}}'})
    store.count("ep", JobBatch("b2"), _totals(1, T0 + 1000, T0 + 2000), None)
    item = store.item("ep")
    assert (item["first_request"], item["last_request"]) == ("2023-11-14 22:13:21.000000+00:00",
                                                             "2023-11-14 22:14:21.000000+00:00")
    assert item["metrics"] == '{"generic": {}}'
    assert {k: store.item("old")[k] for k in ("uid", "endpoint_type")} == {"uid": "old", "endpoint_type": 1}


def test_the_drift_status_carries_mlruns_drift_measures(store):
    measures = {"tvd_mean": 0.4, "hellinger_mean": 0.5, "kld_mean": 1.2, "x": {"tvd": 0.4}}
    assert store.update_drift_status("ep", 2, T0, {"drift_measures": measures, "current_stats": {"x": {}}}) == 2
    assert store.update_drift_status("ep", 1, T0 - 1, {"drift_measures": {}}) is None  # an older window
    item = store.item("ep")
    assert (item["drift_status"], item["drift_measures"], item["current_stats"]) == (
        2, '{"tvd_mean": 0.4, "hellinger_mean": 0.5, "kld_mean": 1.2, "x": {"tvd": 0.4}}', '{"x": {}}')
