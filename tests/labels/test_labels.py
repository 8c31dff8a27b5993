"""Ground-truth labels: logged late and out of order, joined to the right predictions and windows."""

from __future__ import annotations

import json

import nuclio_sdk
import numpy as np
import pytest
from nuclio_sdk.test import Platform

from functions.labels import handler as labels_function
from modelmon.apps.builtin import ModelPerformanceApplication
from modelmon.backends.base import MAX_RECORD_BYTES, OutRecord, SeekTo
from modelmon.core.errors import NotFound
from modelmon.core.paths import ProjectPaths
from modelmon.endpoints.registration import register_model_endpoint
from modelmon.events import DeadLetter, LabelsEvent, endpoint_uid, tracking_body
from modelmon.labels.matching import handle_labels_record, label_counts, load_window_labels, log_labels, rematch_pending
from modelmon.stream import Ingestor, RawRecord
from modelmon.testing import stream_records

PROJECT = "test"
PATHS = ProjectPaths(PROJECT)
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
WINDOW = 600_000
HOUR = 3_600_000
ENDPOINT = endpoint_uid(PROJECT, f"{PROJECT}/serving", "churn", None)


def predictions(backend, ids, times, outputs):
    """Ingest tracked predictions (one feature, one output) through the stream function's ingestor."""
    requests = [{"request": {"id": rid, "inputs": [[float(i)]]}, "resp": {"outputs": [out]}, "when": when,
                 "microsec": 100} for i, (rid, when, out) in enumerate(zip(ids, times, outputs, strict=True))]
    ingestor = Ingestor(backend, PROJECT)
    ingestor.setup()
    ingestor.process(RawRecord(tracking_body(model="churn", function_uri=f"{PROJECT}/serving", requests=requests)))


def consume_labels(backend, platform=None):
    """Feed every labels record to the labels function, as its stream trigger does; the handler's answers."""
    platform = platform or Platform()
    stream = PATHS.labels_stream
    records = backend.streams.read(stream, 0, backend.streams.seek(stream, 0, SeekTo.EARLIEST), limit=1000)
    trigger = nuclio_sdk.TriggerInfo("v3ioStream", "labels")
    return [platform.call_handler(labels_function.handler, nuclio_sdk.Event(
        body=r.data, shard_id=r.shard, offset=r.sequence, trigger=trigger)) for r in records]


@pytest.fixture
def served(backend, monkeypatch):
    """40 predictions, one every 30 s from T0 (two 10-minute windows); outputs alternate 0/1."""
    monkeypatch.setenv("MODELMON_PROJECT", PROJECT)
    register_model_endpoint(backend, PROJECT, "churn", feature_names=["x"], label_names=["churned"],
                            reference_performance={"accuracy": 0.9})
    ids = [f"req-{i}" for i in range(40)]
    predictions(backend, ids, [T0 + i * 30_000 for i in range(40)], [i % 2 for i in range(40)])
    return ids


def test_late_out_of_order_labels_join_to_their_windows(backend, served):
    rng = np.random.default_rng(3)
    order = rng.permutation(40)
    truth = {f"req-{i}": (i % 2 if i % 4 else 1 - i % 2) for i in range(40)}  # every 4th prediction is wrong
    second_half, first_half = order[20:], order[:20]
    log_labels(backend, PROJECT, "churn", [f"req-{i}" for i in second_half],
               [truth[f"req-{i}"] for i in second_half], clock=lambda: T0 + 5 * HOUR)
    log_labels(backend, PROJECT, ENDPOINT, [f"req-{i}" for i in first_half],
               [truth[f"req-{i}"] for i in first_half], clock=lambda: T0 + 2 * HOUR)  # logged later, labelled earlier
    answers = consume_labels(backend)
    assert [(a["matched"], a["unmatched"]) for a in answers] == [(20, 0), (20, 0)]
    assert label_counts(backend, PROJECT, ENDPOINT) == {"matched": 40, "pending": 0}
    app = ModelPerformanceApplication(min_labeled_rows=5)
    for start, ids in ((T0, range(20)), (T0 + WINDOW, range(20, 40))):
        labels = load_window_labels(backend, PROJECT, ENDPOINT, start, start + WINDOW)
        assert sorted(labels["request_id"]) == sorted(f"req-{i}" for i in ids)
        assert dict(zip(labels["request_id"], labels["label"], strict=True)) == {f"req-{i}": truth[f"req-{i}"]
                                                                                  for i in ids}
        samples = backend.samples.read(ENDPOINT, start, start + WINDOW)
        results = app.evaluate(samples, labels_df=labels, label_names=["churned"], endpoint_id=ENDPOINT,
                               model_endpoint={"reference_performance": {"accuracy": 0.9}}).set_index("name")
        assert results.loc["accuracy", "value"] == pytest.approx(0.75)  # 5 of every 20 wrong
        assert results.loc["labeled_rows", "value"] == 20


def test_relabelling_a_request_keeps_the_latest_label(backend, served):
    log_labels(backend, PROJECT, ENDPOINT, ["req-1"], [0], clock=lambda: T0 + HOUR)
    log_labels(backend, PROJECT, ENDPOINT, ["req-1"], [1], clock=lambda: T0 + 2 * HOUR)
    consume_labels(backend)
    labels = load_window_labels(backend, PROJECT, ENDPOINT, T0, T0 + WINDOW)
    assert labels.to_dict("records") == [{"request_id": "req-1", "label": 1}]


def test_labels_for_unknown_requests_are_kept_counted_and_matched_later(backend, served):
    ids = [f"future-{i}" for i in range(5)]
    log_labels(backend, PROJECT, ENDPOINT, ids, {"label": [1] * 5, "score": [0.9] * 5}, clock=lambda: T0 + HOUR)
    (answer,) = consume_labels(backend)
    assert (answer["matched"], answer["unmatched"]) == (0, 5)
    assert label_counts(backend, PROJECT, ENDPOINT) == {"matched": 0, "pending": 5}
    # the predictions arrive after their labels (a delayed tracking record), in the second window
    predictions(backend, ids, [T0 + WINDOW + i for i in range(5)], [1] * 5)
    window = load_window_labels(backend, PROJECT, ENDPOINT, T0 + WINDOW, T0 + 2 * WINDOW)
    assert sorted(window["request_id"]) == ids and set(window["score"]) == {0.9}  # joined while still pending
    report = rematch_pending(backend, PROJECT, clock=lambda: T0 + 2 * HOUR)
    assert (report.matched, report.unmatched) == (5, 0)
    assert label_counts(backend, PROJECT, ENDPOINT) == {"matched": 5, "pending": 0}
    again = load_window_labels(backend, PROJECT, ENDPOINT, T0 + WINDOW, T0 + 2 * WINDOW)
    assert again.sort_values("request_id").reset_index(drop=True).equals(
        window.sort_values("request_id").reset_index(drop=True))
    assert rematch_pending(backend, PROJECT) is None


def test_redelivered_labels_record_is_not_counted_twice(backend, served):
    log_labels(backend, PROJECT, ENDPOINT, ["req-0", "nope"], [1, 0], clock=lambda: T0 + HOUR)
    body = backend.streams.read(PATHS.labels_stream, 0, 1)[0].data
    for _ in range(2):
        report = handle_labels_record(backend, PROJECT, body, "s0-1")
    assert (report.matched, report.unmatched) == (1, 1)
    assert label_counts(backend, PROJECT, ENDPOINT) == {"matched": 1, "pending": 1}


def test_unreadable_labels_record_goes_to_the_dead_letter_stream(backend, served):
    backend.streams.create(PATHS.labels_stream)
    backend.streams.put_records(PATHS.labels_stream, [OutRecord(json.dumps({"kind": "labels", "schema": 1}).encode())])
    (answer,) = consume_labels(backend)
    assert (answer["records"], answer["rejected"]) == (1, 1)
    (letter,) = backend.streams.read(PATHS.dead_letter_stream, 0, 1)
    assert "missing 'endpoint_id'" in json.loads(letter.data)["reason"]


def test_a_batch_of_labels_records_is_processed_whole(backend, served):
    """With batching on, Nuclio passes a list of records: every one is matched or dead-lettered."""
    log_labels(backend, PROJECT, ENDPOINT, [f"req-{i}" for i in range(20)], [1] * 20, clock=lambda: T0 + HOUR)
    backend.streams.put_records(PATHS.labels_stream, [OutRecord(b"not json")])
    log_labels(backend, PROJECT, ENDPOINT, [f"req-{i}" for i in range(20, 40)], [0] * 20, clock=lambda: T0 + HOUR)
    records = backend.streams.read(PATHS.labels_stream, 0, 1)
    trigger = nuclio_sdk.TriggerInfo("v3ioStream", "labels")
    batch = [nuclio_sdk.Event(body=r.data, shard_id=r.shard, offset=r.sequence, trigger=trigger) for r in records]
    answer = Platform().call_handler(labels_function.handler, batch)
    assert answer == {"records": 3, "matched": 40, "unmatched": 0, "rejected": 1}
    assert label_counts(backend, PROJECT, ENDPOINT) == {"matched": 40, "pending": 0}
    (letter,) = [DeadLetter.from_body(r.data) for r in backend.streams.read(PATHS.dead_letter_stream, 0, 1)]
    assert (letter.function, letter.source, letter.payload) == ("labels", PATHS.labels_stream, b"not json")
    assert (letter.shard, letter.sequence) == (0, 2)


@pytest.mark.parametrize(("args", "error", "message"), [
    ((ENDPOINT, ["a", "b"], [1]), ValueError, "1 values for 2 request ids"),
    (("nobody", ["a"], [1]), NotFound, "no model endpoint"),
    ((ENDPOINT, [], []), ValueError, "non-empty list of request ids"),
    ((ENDPOINT, ["a"], [[1, 2]]), ValueError, "numbers or text"),
    ((ENDPOINT, ["a"], 5), TypeError, "labels must be"),
])
def test_bad_labels_are_clear_errors_and_send_nothing(backend, served, args, error, message):
    with pytest.raises(error, match=message):
        log_labels(backend, PROJECT, *args)
    with pytest.raises(NotFound):
        backend.streams.describe(PATHS.labels_stream)


def test_the_app_runtime_context_reads_the_windows_labels(backend, served):
    from modelmon.apps.runner.window_context import build_context
    from modelmon.events import WindowEvent

    log_labels(backend, PROJECT, ENDPOINT, ["req-3", "req-25"], [1, 0], clock=lambda: T0 + HOUR)
    consume_labels(backend)
    item = backend.kv.get(PATHS.endpoints_table, ENDPOINT)
    window = WindowEvent(PROJECT, ENDPOINT, "model-performance", T0, T0 + WINDOW)
    context = build_context(window, item, backend, PATHS)
    assert context.labels_df.to_dict("records") == [{"request_id": "req-3", "label": 1}]  # req-25 is next window


def test_labels_too_large_for_one_record_are_split_and_one_too_large_alone_is_refused(backend, served):
    ids = [f"req-{i}" for i in range(40)]
    big = ["x" * 100_000] * len(ids)  # 4 MB of labels: five records of at most 1 MB
    assert log_labels(backend, PROJECT, ENDPOINT, ids, big) == len(ids)
    records = stream_records(backend.streams, ProjectPaths(PROJECT).labels_stream)
    assert len(records) > 1 and all(len(r.data) <= MAX_RECORD_BYTES for r in records)
    assert [i for r in records for i in LabelsEvent.from_body(r.data).request_ids] == ids
    with pytest.raises(ValueError, match="the label of request 'req-0' makes a message of 2,"):
        log_labels(backend, PROJECT, ENDPOINT, ["req-0"], ["x" * 2_000_000])
