"""The status computation on a real local home: stream lag from real offsets, windows from a real controller
run, a real app runner and a real writer; the service's state is a dict as its state file holds it."""

from __future__ import annotations

import inspect

import pytest
from status_fixtures import APP, PERIOD, WRITER_GROUP, Pipeline, ShiftApp

from modelmon.backends.base import OutRecord
from modelmon.core.config import Settings
from modelmon.functions.packing import pack
from modelmon.service.app_progress import DAY_MS, Window, queued_messages, stream_lag
from modelmon.service.status import home_status
from modelmon.testing import ManualClock

MINUTE = 60_000
T0 = 1_700_000_000_000 // PERIOD * PERIOD  # a window boundary
ENDPOINT = "0f3c2a9d1b7e4c5a8f6d0e1b2c3d4e5f6a7b8c9d"  # a 40-character id, as the stream function makes them


@pytest.fixture
def pipeline(backend, settings):
    return Pipeline(backend, settings.project, ManualClock(T0 + 6 * PERIOD + MINUTE), ShiftApp(fail_at=T0 + PERIOD))


def _state(pipeline: Pipeline, now: int) -> dict:
    """What the service's state file says: the app and writer running, the controller failed."""
    paths = pipeline.paths
    return {
        "pid": 4000, "home": "/abs/home", "started_ms": now - 3_600_000, "updated_ms": now - 1000,
        "projects": {pipeline.project: {"functions": {
            APP: {"role": "app", "pid": 4321, "state": "running", "started_ms": now - 312_000, "restarts": 2,
                  "last_error": None, "streams": [{"path": paths.app_stream(APP), "group": APP}]},
            "model-monitoring-writer": {"role": "writer", "pid": 4322, "state": "running", "started_ms": now,
                                        "restarts": 0, "last_error": None,
                                        "streams": [{"path": paths.writer_stream, "group": WRITER_GROUP}]},
            "model-monitoring-controller": {"role": "controller", "pid": None, "state": "failed",
                                            "started_ms": None, "restarts": 5, "last_error": "ValueError: bad",
                                            "streams": []},
        }}},
    }


def _status(pipeline: Pipeline, settings: Settings, running: bool = True):
    now = pipeline.clock()
    state = _state(pipeline, now) if running else None
    (project,) = home_status(pipeline.backend, settings, [pipeline.project], state, now).projects
    return project


def test_stream_lag_is_the_records_after_the_committed_sequence_on_every_shard(backend):
    streams = backend.streams
    assert stream_lag(streams, "projects/p/model-endpoints/stream-none", "g") == 0  # never created: nothing behind
    streams.create("s", shards=2)
    streams.put_records("s", [OutRecord(b"x", shard=0)] * 5 + [OutRecord(b"y", shard=1)] * 3)
    assert stream_lag(streams, "s", "g") == 8  # never committed: starts at the oldest record (seekTo earliest)
    streams.commit("s", "g", 0, 6)  # the next record to read: everything of shard 0 consumed
    streams.commit("s", "g", 1, 2)
    assert stream_lag(streams, "s", "g") == 2
    streams.commit("s", "g", 1, 4)
    assert stream_lag(streams, "s", "g") == 0
    streams.put_records("s", [OutRecord(b"z", shard=1)])
    assert stream_lag(streams, "s", "g") == 1
    assert stream_lag(streams, "s", "other") == 9


def test_queued_windows_count_the_messages_of_packed_records(backend):
    streams = backend.streams
    assert queued_messages(streams, "projects/p/none", "g") == 0
    streams.create("s", shards=2)
    windows = [b'{"window": %d}' % i for i in range(250)]
    records = pack(windows)  # 100 + 100 + 50 windows
    streams.put_records("s", [OutRecord(r, shard=0) for r in records]
                        + [OutRecord(b'{"window": "alone"}', shard=1), OutRecord(b"[not json", shard=1)])
    assert stream_lag(streams, "s", "g") == 5
    assert queued_messages(streams, "s", "g") == 252  # a lone message and an unreadable pack count once each
    streams.commit("s", "g", 0, 2)  # the first pack consumed
    assert queued_messages(streams, "s", "g") == 152
    # Past the records it reads, it counts each as the mean of those it read: (100 + 50) / 2 for the third.
    assert queued_messages(streams, "s", "g", counted_records=2) == 150 + 75 + 75


def test_windows_and_lag_follow_the_controller_the_app_and_the_writer(pipeline, settings):
    pipeline.register()
    pipeline.register("idle")  # registered, but no function of the service runs it
    busy = [T0 + k * PERIOD for k in (0, 1, 2, 4, 5)]  # the window at T0 + 3 periods has no request
    pipeline.traffic(ENDPOINT, "fraud-model", busy, watermark=T0 + 6 * PERIOD)

    # closed windows with traffic the controller has not dispatched yet
    apps = {a.name: a for a in _status(pipeline, settings).apps}
    assert [(a.progress.not_dispatched, a.progress.queued, a.progress.analysed) for a in apps.values()] == \
        [(5, 0, 0), (5, 0, 0)]

    assert pipeline.run_controller() == 10
    project = _status(pipeline, settings)
    apps = {a.name: a for a in project.apps}
    assert (apps[APP].progress.not_dispatched, apps[APP].progress.queued) == (0, 5)
    fns = {f.name: f for f in project.functions}
    assert (fns[APP].lag, fns["model-monitoring-writer"].lag, fns["model-monitoring-controller"].lag) == (5, 0, None)

    pipeline.run_app(3)  # windows 0, 1 (fails) and 2
    project = _status(pipeline, settings)
    apps, fns = {a.name: a for a in project.apps}, {f.name: f for f in project.functions}
    assert (fns[APP].lag, fns["model-monitoring-writer"].lag) == (2, 3)
    assert (apps[APP].progress.queued, apps[APP].progress.analysed, apps[APP].progress.failed) == (2, 0, 0)

    pipeline.run_writer(3)
    project = _status(pipeline, settings)
    app = {a.name: a for a in project.apps}[APP]
    assert (app.progress.analysed, app.progress.failed, app.progress.pending) == (2, 1, 2)
    assert (app.progress.oldest, app.progress.newest) == (Window(T0, T0 + PERIOD),
                                                         Window(T0 + 2 * PERIOD, T0 + 3 * PERIOD))
    (failure,) = app.progress.failures_24h
    assert (failure.endpoint_id, failure.endpoint, failure.window) == (ENDPOINT, "fraud-model",
                                                                       Window(T0 + PERIOD, T0 + 2 * PERIOD))
    assert (failure.error_type, failure.message) == ("KeyError", "'no_such_column'")
    raising_line = ShiftApp.do_tracking.__code__.co_firstlineno + 2
    assert failure.location == f"{inspect.getfile(ShiftApp)}:{raising_line}"

    pipeline.run_app(2)
    pipeline.run_writer(2)
    project = _status(pipeline, settings)
    apps, fns = {a.name: a for a in project.apps}, {f.name: f for f in project.functions}
    assert (fns[APP].lag, fns["model-monitoring-writer"].lag) == (0, 0)
    assert (apps[APP].progress.analysed, apps[APP].progress.pending, apps[APP].progress.failed) == (4, 0, 1)
    assert apps[APP].progress.newest == Window(T0 + 5 * PERIOD, T0 + 6 * PERIOD)
    assert (apps["idle"].progress.queued, apps["idle"].progress.analysed) == (5, 0)

    # two more windows close: pending before the controller runs, queued after
    pipeline.traffic(ENDPOINT, "fraud-model", [T0 + 6 * PERIOD, T0 + 7 * PERIOD], watermark=T0 + 8 * PERIOD)
    pipeline.clock.now = T0 + 8 * PERIOD + MINUTE
    app = {a.name: a for a in _status(pipeline, settings).apps}[APP]
    assert (app.progress.not_dispatched, app.progress.queued) == (2, 0)
    pipeline.run_controller()
    app = {a.name: a for a in _status(pipeline, settings).apps}[APP]
    assert (app.progress.not_dispatched, app.progress.queued, app.progress.pending) == (0, 2, 2)


def test_functions_and_warnings_as_the_state_file_says(pipeline, settings):
    pipeline.register()
    pipeline.register("idle")
    pipeline.register("off", enabled=False)
    project = _status(pipeline, settings)
    fns = {f.name: f for f in project.functions}
    app_fn = fns[APP]
    assert (app_fn.role, app_fn.state, app_fn.pid, app_fn.uptime_s, app_fn.restarts) == ("app", "running", 4321,
                                                                                         312.0, 2)
    controller = fns["model-monitoring-controller"]
    assert (controller.state, controller.uptime_s, controller.last_error) == ("failed", None, "ValueError: bad")
    apps = {a.name: a for a in project.apps}
    assert (apps[APP].running, apps[APP].function, apps["idle"].running, apps["idle"].function) == \
        (True, APP, False, None)
    assert project.warnings == [
        "function model-monitoring-controller failed: ValueError: bad",
        "app idle is registered but not running (the service runs no function for it): 0 window(s) pending",
    ]

    stopped = _status(pipeline, settings, running=False)
    assert stopped.functions == () and not any(a.running for a in stopped.apps)
    assert stopped.warnings == [
        f"app {name} is registered but not running (the service is not running): 0 window(s) pending"
        for name in ("idle", APP)
    ]


def test_failures_are_read_with_and_without_their_details(pipeline, settings, backend):
    pipeline.register()
    table = pipeline.paths.app_failures_table
    now = pipeline.clock()
    backend.kv.put(table, f"{ENDPOINT}.{APP}.{T0}", {  # as the writer stores it since failures have details
        "endpoint_id": ENDPOINT, "app_name": APP, "start_ms": T0, "end_ms": T0 + PERIOD,
        "error": "KeyError: 'no_such_column'", "error_type": "KeyError", "location": "/apps/shift.py:12",
        "traceback": "Traceback ...", "time_ms": now - 60_000,
    })
    backend.kv.put(table, f"{ENDPOINT}.{APP}.{T0 + PERIOD}", {  # an older item: the error text only
        "endpoint_id": ENDPOINT, "app_name": APP, "start_ms": T0 + PERIOD, "end_ms": T0 + 2 * PERIOD,
        "error": "RuntimeError: only 3 rows", "time_ms": now - 120_000,
    })
    backend.kv.put(table, f"{ENDPOINT}.{APP}.{T0 - DAY_MS}", {  # failed more than a day ago
        "endpoint_id": ENDPOINT, "app_name": APP, "start_ms": T0 - DAY_MS, "end_ms": T0 - DAY_MS + PERIOD,
        "error": "ValueError: old", "time_ms": now - DAY_MS - 1,
    })
    (app,) = _status(pipeline, settings).apps
    assert app.progress.failed == 3
    assert [(f.window.start_ms, f.error_type, f.message, f.location, f.time_ms) for f in app.progress.failures_24h] \
        == [(T0, "KeyError", "'no_such_column'", "/apps/shift.py:12", now - 60_000),
            (T0 + PERIOD, "RuntimeError", "only 3 rows", None, now - 120_000)]
