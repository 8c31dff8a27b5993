"""The stream function through nuclio_sdk.test.Platform on the local backend: each MLRun shape."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from ingest_fixtures import PROJECT, batched, entry, single

from modelmon.core.timeutil import to_ms
from modelmon.events import endpoint_uid
from modelmon.stream import read_predictions

T0 = to_ms("2024-03-01 12:00:00")


def test_single_event_creates_the_endpoint_with_inferred_names(fn):
    report = fn.send(single(labels={"team": "risk"}), offset=1)
    assert report == {"records": 1, "requests": 1, "errors": 0, "rows": 2, "rejected": 0, "duplicates": 0}

    endpoint_id = endpoint_uid(PROJECT, "proj/serving:latest", "churn", "v2")
    ep = fn.endpoint(endpoint_id)
    when = T0 + 250
    assert (ep.name, ep.project, ep.function_uri, ep.model, ep.model_version, ep.model_class) == (
        "churn", PROJECT, "proj/serving:latest", "churn", "v2", "SKLearnModelServer")
    assert ep.labels == {"team": "risk"}
    assert ep.feature_names == ["f0", "f1", "f2"] and ep.label_names == ["p0"]
    assert (ep.first_request_ms, ep.last_request_ms, ep.watermark_ms) == (when, when, when + 1)
    assert (ep.request_count, ep.error_count, ep.latency_sum_us) == (1, 0, 1500.0)
    assert ep.created_ms is not None

    rows = fn.samples(endpoint_id)
    assert list(rows.columns) == ["timestamp", "request_id", "latency_us", "f0", "f1", "f2", "p0"]
    assert rows["timestamp"].tolist() == [when, when]
    assert rows["request_id"].tolist() == ["r-1", "r-1"]
    assert rows[["f0", "f1", "f2"]].to_numpy().tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert rows["p0"].tolist() == [0, 1]


def test_batched_record_rows_counts_and_minutes(fn):
    rng = np.random.default_rng(7)
    n = 500
    features = rng.normal(size=(n, 20)).round(6)
    outputs = rng.integers(0, 2, size=n)
    times = T0 + np.sort(rng.integers(0, 5 * 60_000, size=n))
    latency = rng.integers(100, 5000, size=n)
    entries = [entry(i, features[i].tolist(), [int(outputs[i])], int(times[i]), int(latency[i])) for i in range(n)]
    report = fn.send(batched(entries, endpoint_id="ep-batch"), offset=1)
    assert report["requests"] == n and report["rows"] == n and report["rejected"] == 0

    ep = fn.endpoint("ep-batch")
    assert ep.feature_names == [f"f{i}" for i in range(20)]
    assert (ep.request_count, ep.latency_sum_us) == (n, float(latency.sum()))
    assert (ep.first_request_ms, ep.last_request_ms, ep.watermark_ms) == (times.min(), times.max(), times.max() + 1)

    rows = fn.samples("ep-batch")
    np.testing.assert_array_equal(rows[[f"f{i}" for i in range(20)]].to_numpy(), features)
    np.testing.assert_array_equal(rows["p0"].to_numpy(), outputs)
    np.testing.assert_array_equal(rows["latency_us"].to_numpy(), latency)
    assert rows["request_id"].tolist() == [f"r{i}" for i in range(n)]

    minutes = times // 60_000 * 60_000
    expected = pd.DataFrame({"time": minutes, "latency": latency}).groupby("time")["latency"]
    stored = read_predictions(fn.backend.tsdb, fn.paths.predictions_tsdb, "ep-batch", 0, 2**62)
    assert stored["time"].tolist() == expected.size().index.tolist()
    assert stored["count"].tolist() == expected.size().tolist()
    assert stored["latency_sum_us"].tolist() == expected.sum().astype(float).tolist()
    assert stored["latency_max_us"].tolist() == expected.max().astype(float).tolist()


def test_error_event_counts_and_errors_series(fn):
    error = {k: v for k, v in single(endpoint_id="ep-err").items() if k not in ("resp", "microsec")}
    report = fn.send({**error, "error": "ValueError: bad input"}, offset=1)
    assert (report["requests"], report["errors"], report["rows"]) == (0, 1, 0)
    ep = fn.endpoint("ep-err")
    assert (ep.request_count, ep.error_count, ep.last_request_ms) == (0, 1, T0 + 250)
    errors = fn.tsdb(fn.paths.errors_tsdb)
    assert errors[["time", "endpoint_id", "count"]].to_dict("records") == [
        {"time": T0 + 250, "endpoint_id": "ep-err", "count": 1}]
    assert fn.samples("ep-err").empty


def test_batch_mixing_errors_and_predictions(fn):
    entries = [entry(0, [1.0, 2.0], [0.5], T0), entry(1, [3.0, 4.0], [0.7], T0 + 61_000, 3000)]
    entries.append({"request": {"id": "r2", "inputs": [[5.0, 6.0]]}, "when": T0 + 10, "error": "boom"})
    entries.append({"request": {"id": "r3", "inputs": [[5.0, 6.0]]}, "when": T0 + 10, "error": "boom"})
    report = fn.send(batched(entries, endpoint_id="ep-mix"), offset=1)
    assert (report["requests"], report["errors"], report["rows"]) == (2, 2, 2)
    ep = fn.endpoint("ep-mix")
    assert (ep.request_count, ep.error_count, ep.latency_sum_us) == (2, 2, 4000.0)
    assert ep.latency_avg_us == 2000.0
    assert fn.tsdb(fn.paths.errors_tsdb)[["time", "count"]].to_dict("records") == [{"time": T0 + 10, "count": 2}]
    stored = read_predictions(fn.backend.tsdb, fn.paths.predictions_tsdb, "ep-mix", 0, 2**62)
    assert stored[["time", "count"]].to_dict("records") == [{"time": T0, "count": 1}, {"time": T0 + 60_000, "count": 1}]


def test_registered_names_are_used(fn):
    fn.backend.kv.put(fn.paths.endpoints_table, "ep-named", {
        "endpoint_id": "ep-named", "feature_names": json.dumps(["age", "income"]), "label_names": json.dumps(["churn"]),
        "registered": True})
    fn.send(batched([entry(0, [31, 5200.5], [1], T0)], endpoint_id="ep-named"), offset=1)
    rows = fn.samples("ep-named")
    assert list(rows.columns) == ["timestamp", "request_id", "latency_us", "age", "income", "churn"]
    assert rows[["age", "income", "churn"]].to_numpy().tolist() == [[31, 5200.5, 1]]
    ep = fn.endpoint("ep-named")
    assert ep.registered and ep.feature_names == ["age", "income"] and ep.request_count == 1


def test_text_features_take_the_checked_path(fn):
    entries = [{"request": {"id": "a", "inputs": [[1.0, "red"], [2.0, "blue"]]}, "resp": {"outputs": [0, 1]},
                "when": T0, "microsec": 10},
               {"request": {"id": "b", "inputs": [[3, True]]}, "resp": {"outputs": [1]}, "when": T0, "microsec": 10}]
    report = fn.send(batched(entries, endpoint_id="ep-text"), offset=1)
    assert (report["rows"], report["rejected"]) == (2, 1)  # booleans are not features
    rows = fn.samples("ep-text")
    assert rows["f1"].tolist() == ["red", "blue"] and rows["f0"].tolist() == [1.0, 2.0]


def test_nuclio_batch_of_events_is_ingested_record_by_record(fn):
    import nuclio_sdk

    events = [nuclio_sdk.Event(body=json.dumps(single(endpoint_id="ep-list", when=T0 + k)).encode(), shard_id=0,
                               offset=k + 1) for k in range(3)]
    report = fn.send(events)
    assert (report["records"], report["requests"], report["rows"]) == (3, 3, 6)
    ep = fn.endpoint("ep-list")
    assert (ep.request_count, ep.watermark_ms) == (3, T0 + 3)
    assert len(fn.samples("ep-list")) == 6


def test_watermark_and_last_request_never_move_back(fn):
    fn.send(single(endpoint_id="ep-w", when=T0 + 10_000), offset=1)
    fn.send(single(endpoint_id="ep-w", when=T0), offset=2)  # late record
    ep = fn.endpoint("ep-w")
    assert (ep.first_request_ms, ep.last_request_ms, ep.watermark_ms) == (T0, T0 + 10_000, T0 + 10_001)
    assert ep.request_count == 2 and len(fn.samples("ep-w")) == 4
