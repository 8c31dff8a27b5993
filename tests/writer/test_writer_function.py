"""The writer function (``writer/handler.py``) through nuclio's test Platform, and ``ResultWriter`` directly."""

from __future__ import annotations

import dataclasses
import json

import nuclio_sdk
import nuclio_sdk.test
import pytest

from modelmon.backends import SeekTo, make_backend, scan_all
from modelmon.core.paths import ProjectPaths
from modelmon.core.results import (
    ModelMonitoringApplicationMetric,
    ModelMonitoringApplicationResult,
    ResultKindApp,
    ResultStatusApp,
)
from modelmon.endpoints.record import ModelEndpoint
from modelmon.events import DeadLetter, WriterEvent
from modelmon.queries import metric_history, result_history
from modelmon.writer import ResultWriter
from writer import handler as writer_function

PERIOD = 600_000
T0 = 1_700_000_000_000 // PERIOD * PERIOD
PATHS = ProjectPaths("test")
DRIFT = ResultKindApp.data_drift


@pytest.fixture
def backend(settings, monkeypatch):
    monkeypatch.setenv("MODELMON_PROJECT", "test")
    b = make_backend(settings)
    b.kv.put(PATHS.endpoints_table, "ep1", ModelEndpoint("ep1", name="model-1").to_item())
    yield b
    b.close()


def _result(name: str, value: float, status: ResultStatusApp, **extra) -> ModelMonitoringApplicationResult:
    return ModelMonitoringApplicationResult(name, value, DRIFT, status, extra)


def _event(k: int, results=(), metrics=(), app: str = "drift", error: str | None = None) -> WriterEvent:
    return WriterEvent("test", "ep1", app, T0 + k * PERIOD, T0 + (k + 1) * PERIOD, tuple(results), tuple(metrics),
                       error=error)


def _call(platform, event: WriterEvent | bytes) -> dict:
    body = event if isinstance(event, bytes) else event.to_body()
    return platform.call_handler(writer_function.handler, nuclio_sdk.Event(body=body, shard_id=0, offset=7))


def _history(backend, table: str) -> list[tuple]:
    """What the history readers give (the newest computation per window), as (end, labels..., values...)."""
    if table == PATHS.app_results_tsdb:
        df = result_history(backend, PATHS.project)
        columns = ["end_ms", "endpoint_id", "app_name", "result_name", "value", "status", "kind", "start_ms"]
    else:
        df = metric_history(backend, PATHS.project)
        columns = ["end_ms", "endpoint_id", "app_name", "metric_name", "value"]
    return [tuple(row) for row in df[columns].itertuples(index=False)]


def _latest(backend) -> dict[str, dict]:
    return dict(scan_all(backend.kv, PATHS.app_results_table))


def test_latest_keeps_the_newest_window_and_history_keeps_every_window(backend):
    platform = nuclio_sdk.test.Platform()
    newer = _event(1, [_result("tvd", 0.4, ResultStatusApp.potential_detection, top="f1")])
    older = _event(0, [_result("tvd", 0.1, ResultStatusApp.no_detection)])

    assert _call(platform, newer) == {"events": 1, "results": 1, "metrics": 0, "failures": 0, "dead_lettered": 0}
    _call(platform, older)  # arrives late

    [(key, item)] = _latest(backend).items()
    assert key == "ep1.drift.tvd"
    assert {k: v for k, v in item.items() if k != "updated_ms"} == {
        "endpoint_id": "ep1", "app_name": "drift", "result_name": "tvd", "value": 0.4, "status": 1, "kind": 0,
        "extra_data": json.dumps({"top": "f1"}), "start_ms": T0 + PERIOD, "end_ms": T0 + 2 * PERIOD,
    }
    assert _history(backend, PATHS.app_results_tsdb) == [
        (T0 + PERIOD, "ep1", "drift", "tvd", 0.1, 0, 0, T0),
        (T0 + 2 * PERIOD, "ep1", "drift", "tvd", 0.4, 1, 0, T0 + PERIOD),
    ]


def test_a_redelivered_event_leaves_the_same_state(backend):
    writer = ResultWriter(backend, PATHS, clock=lambda: T0 + 5 * PERIOD)
    results = [_result("tvd", 0.7, ResultStatusApp.detected), _result("psi", 0.2, ResultStatusApp.no_detection)]
    event = _event(0, results, [ModelMonitoringApplicationMetric("rows", 120)])
    writer.handle(event.to_body())
    first = (_latest(backend), _history(backend, PATHS.app_results_tsdb), _history(backend, PATHS.metrics_tsdb),
             dict(scan_all(backend.kv, PATHS.alerts_table)), backend.kv.get(PATHS.endpoints_table, "ep1"))
    writer.handle(event.to_body())
    second = (_latest(backend), _history(backend, PATHS.app_results_tsdb), _history(backend, PATHS.metrics_tsdb),
              dict(scan_all(backend.kv, PATHS.alerts_table)), backend.kv.get(PATHS.endpoints_table, "ep1"))

    assert second == first
    latest, results, metrics, alerts, endpoint = second
    assert sorted(latest) == ["ep1.drift.psi", "ep1.drift.tvd"]
    assert len(results) == 2
    assert metrics == [(T0 + PERIOD, "ep1", "drift", "rows", 120.0)]
    assert list(alerts) == [f"ep1.drift.tvd.{T0 + PERIOD}"]  # one alert, for the detected result only
    assert alerts[f"ep1.drift.tvd.{T0 + PERIOD}"]["value"] == 0.7
    assert endpoint["drift_status"] == 2


def test_drift_status_is_the_highest_status_of_the_latest_window(backend):
    writer = ResultWriter(backend, PATHS)

    def status() -> int:
        return backend.kv.get(PATHS.endpoints_table, "ep1")["drift_status"]

    assert status() == -1  # irrelevant until a result arrives
    writer.write(_event(0, [_result("tvd", 0.1, ResultStatusApp.no_detection)], app="a"))
    assert status() == 0
    writer.write(_event(0, [_result("q", 0.9, ResultStatusApp.detected)], app="b"))  # same window, other app
    assert status() == 2
    writer.write(_event(0, [_result("tvd", 0.1, ResultStatusApp.potential_detection)], app="a"))
    assert status() == 2  # a lower status in the same window does not lower it
    writer.write(_event(1, [_result("tvd", 0.3, ResultStatusApp.potential_detection)], app="a"))
    assert status() == 1  # a newer window replaces it
    writer.write(_event(0, [_result("q", 0.9, ResultStatusApp.detected)], app="b"))  # late redelivery
    assert status() == 1
    endpoint = ModelEndpoint.from_item(backend.kv.get(PATHS.endpoints_table, "ep1"))
    assert endpoint.name == "model-1"  # the rest of the record is untouched


def test_an_app_failure_is_recorded_for_its_window(backend):
    platform = nuclio_sdk.test.Platform()
    totals = _call(platform, _event(3, error="RuntimeError: boom"))
    assert totals["failures"] == 1
    assert dict(scan_all(backend.kv, PATHS.app_failures_table)) == {
        f"ep1.drift.{T0 + 3 * PERIOD}": {
            "endpoint_id": "ep1", "app_name": "drift", "start_ms": T0 + 3 * PERIOD, "end_ms": T0 + 4 * PERIOD,
            "error": "RuntimeError: boom",
            "time_ms": backend.kv.get(PATHS.app_failures_table, f"ep1.drift.{T0 + 3 * PERIOD}")["time_ms"],
        }
    }
    assert _latest(backend) == {}


def test_a_failure_is_stored_with_its_type_location_and_traceback(backend):
    platform = nuclio_sdk.test.Platform()
    trace = "Traceback (most recent call last):\n  File \"/apps/app.py\", line 12, in do_tracking\nKeyError: 'x'\n"
    failed = WriterEvent("test", "ep1", "drift", T0, T0 + PERIOD, error="KeyError: 'x'", error_type="KeyError",
                         location="/apps/app.py:12", traceback=trace)
    assert _call(platform, failed)["failures"] == 1
    item = backend.kv.get(PATHS.app_failures_table, f"ep1.drift.{T0}")
    assert {k: v for k, v in item.items() if k != "time_ms"} == {
        "endpoint_id": "ep1", "app_name": "drift", "start_ms": T0, "end_ms": T0 + PERIOD, "error": "KeyError: 'x'",
        "error_type": "KeyError", "location": "/apps/app.py:12", "traceback": trace}
    # the same window failing again from an older app function: the item holds that failure alone
    _call(platform, _event(0, error="RuntimeError: boom"))
    item = backend.kv.get(PATHS.app_failures_table, f"ep1.drift.{T0}")
    assert item["error"] == "RuntimeError: boom" and not {"error_type", "location", "traceback"} & set(item)


def test_a_window_that_succeeds_after_failing_is_no_longer_a_failure(backend):
    platform = nuclio_sdk.test.Platform()
    _call(platform, _event(3, error="RuntimeError: boom"))
    _call(platform, _event(4, error="RuntimeError: boom"))
    _call(platform, _event(3, results=[_result("general_drift", 0.1, ResultStatusApp.no_detection)]))
    assert list(dict(scan_all(backend.kv, PATHS.app_failures_table))) == [f"ep1.drift.{T0 + 4 * PERIOD}"]
    assert list(_latest(backend)) == ["ep1.drift.general_drift"]


def test_a_result_for_an_unknown_endpoint_is_stored_without_creating_the_endpoint(backend):
    writer = ResultWriter(backend, PATHS)
    writer.write(WriterEvent("test", "ghost", "drift", T0, T0 + PERIOD,
                             (_result("tvd", 0.5, ResultStatusApp.detected),)))
    assert "ghost.drift.tvd" in _latest(backend)
    assert backend.kv.get(PATHS.endpoints_table, "ghost") is None


@pytest.mark.parametrize(("body", "reason"), [
    (b"\xff\xfe", "not UTF-8"),
    (b'{"kind": "writer", "schema": 1, "project": "test", "endpoint_id": "ep1", "app_name": "a", "start_ms": 0,'
     b' "end_ms": 1, "results": [{"name": "bad name", "value": 1, "kind": 0, "status": 0}], "metrics": []}',
     "invalid result name"),
    (b'{"kind": "writer", "schema": 9}', "schema version 9"),
    (WriterEvent("other", "ep1", "a", 0, 1).to_body(), "project 'other' reached project 'test'"),
])
def test_unreadable_writer_events_go_to_the_dead_letter_stream(backend, body, reason):
    platform = nuclio_sdk.test.Platform()
    assert _call(platform, body)["dead_lettered"] == 1
    seq = backend.streams.seek(PATHS.dead_letter_stream, 0, SeekTo.EARLIEST)
    [record] = backend.streams.read(PATHS.dead_letter_stream, 0, seq)
    letter = DeadLetter.from_body(record.data)
    assert reason in letter.reason
    assert (letter.payload, letter.source, letter.sequence) == (body, PATHS.writer_stream, 7)
    assert _latest(backend) == {}


def _drift_states(backend) -> dict[str, tuple]:
    return {key: (item.get("drift_status"), item.get("drift_status_end_ms"))
            for key, item in scan_all(backend.kv, PATHS.endpoints_table)}


@pytest.mark.parametrize("order", [[0, 1, 2, 3, 4, 5], [5, 4, 3, 2, 1, 0], [2, 0, 5, 1, 4, 3]])
def test_a_batch_leaves_the_drift_statuses_and_failures_writing_its_events_one_by_one_leaves(settings, tmp_path,
                                                                                            order):
    statuses = (ResultStatusApp.no_detection, ResultStatusApp.detected, ResultStatusApp.potential_detection)
    events = [WriterEvent("test", f"ep{e}", app, T0 + k * PERIOD, T0 + (k + 1) * PERIOD,
                          (_result("tvd", 0.1, statuses[(e + k + len(app)) % 3]),))
              for e in (1, 2) for k in (0, 1) for app in ("a", "bb", "ccc")]
    events = [events[i] for i in order] + [events[i + 6] for i in order]
    events.insert(1, WriterEvent("test", "ep1", "a", T0, T0 + PERIOD, error="boom"))  # its success may come later
    events.append(WriterEvent("test", "ep2", "a", T0 + PERIOD, T0 + 2 * PERIOD, error="boom"))  # after its success
    states = []
    for batched, home in ((False, tmp_path / "one"), (True, tmp_path / "batch")):
        store = make_backend(dataclasses.replace(settings, home=str(home)))
        for name in ("ep1", "ep2"):
            store.kv.put(PATHS.endpoints_table, name, ModelEndpoint(name, name=name).to_item())
        writer = ResultWriter(store, PATHS)
        if batched:
            writer.write_many(events)
        else:
            for event in events:
                writer.write(event)
        states.append((_drift_states(store), sorted(dict(scan_all(store.kv, PATHS.app_failures_table)))))
        store.close()
    assert states[0] == states[1]
    assert f"ep2.a.{T0 + PERIOD}" in states[0][1]  # the failure after its window's success stays
    assert {status for status, _ in states[0][0].values()} - {-1} and all(states[0][0].values())
