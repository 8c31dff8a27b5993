"""Which windows hold requests, from the per-minute prediction counts; a laggard costs one filtered read."""

from __future__ import annotations

from controller_fixtures import MINUTE, PERIOD, T0, add_requests

from modelmon.controller.activity import RequestActivity


class _RecordingTSDB:
    """The real TSDB, remembering the range and filters of each read."""

    def __init__(self, tsdb) -> None:
        self._tsdb = tsdb
        self.reads: list[tuple[int, int, object]] = []

    def read(self, table, start, end, **kwargs):
        self.reads.append((start, end, kwargs.get("filters")))
        return self._tsdb.read(table, start, end, **kwargs)


def test_busy_windows_of_current_and_lagging_endpoints(backend, paths):
    for i in range(20):
        add_requests(backend, paths, f"ep{i:02d}", [T0 + 10 * PERIOD + 2 * MINUTE])
    add_requests(backend, paths, "late", [T0 + MINUTE, T0 + 5 * PERIOD + 9 * MINUTE, T0 + 10 * PERIOD])
    ranges = {f"ep{i:02d}": (T0 + 10 * PERIOD, T0 + 11 * PERIOD) for i in range(20)}
    ranges["late"] = (T0, T0 + 11 * PERIOD)
    tsdb = _RecordingTSDB(backend.tsdb)

    activity = RequestActivity.load(tsdb, paths.predictions_tsdb, ranges, PERIOD)

    assert tsdb.reads == [
        (T0 + 10 * PERIOD, T0 + 11 * PERIOD, None),  # everyone's current window
        (T0, T0 + 10 * PERIOD, {"endpoint_id": ["late"]}),  # the laggard's history only
    ]
    assert activity.busy("late", range(T0, T0 + 11 * PERIOD, PERIOD), PERIOD) == [T0, T0 + 5 * PERIOD, T0 + 10 * PERIOD]
    assert activity.busy("ep03", [T0 + 9 * PERIOD, T0 + 10 * PERIOD], PERIOD) == [T0 + 10 * PERIOD]
    assert activity.busy("unknown", [T0], PERIOD) == []
    # a window of two base periods holds the requests of both
    assert activity.busy("late", [T0 + 4 * PERIOD], 2 * PERIOD) == [T0 + 4 * PERIOD]


def test_no_table_means_no_requests(backend, paths):
    activity = RequestActivity.load(backend.tsdb, paths.predictions_tsdb, {"ep": (T0, T0 + PERIOD)}, PERIOD)
    assert activity.busy("ep", [T0], PERIOD) == []
