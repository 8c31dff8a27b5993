"""Traffic older than the backfill horizon is recorded as skipped and warned about once; a backfill analyses it."""

from __future__ import annotations

import logging

import pytest
from controller_fixtures import MINUTE, PERIOD, T0, add_requests, dispatched, make_controller, put_endpoint, schedule

from modelmon.cli import main
from modelmon.controller.backfill import backfill
from modelmon.core.errors import NotFound
from modelmon.endpoints.store import EndpointStore

DAY = 24 * 60 * MINUTE
WEEK_AGO = T0 - 7 * DAY + 3 * MINUTE  # replayed traffic, older than the one-day horizon
NOW = T0 + PERIOD + 5 * MINUTE


@pytest.fixture
def replayed(backend, paths, clock, registry):
    """An endpoint whose traffic reaches a week back: two windows last week, two since the horizon."""
    registry.register("drift", "mod:App")
    put_endpoint(backend, paths, "ep", first=WEEK_AGO, watermark=T0 + PERIOD + MINUTE)
    add_requests(backend, paths, "ep", [WEEK_AGO, WEEK_AGO + PERIOD, T0 - 2 * PERIOD + MINUTE, T0 + MINUTE])
    clock.now = NOW
    return EndpointStore(backend.kv, paths)


def _starts(backend, paths):
    return [w.start_ms for w in dispatched(backend, paths, "drift")]


def test_traffic_older_than_the_horizon_is_recorded_as_skipped_and_warned_about_once(backend, paths, clock,
                                                                                       replayed, caplog):
    controller = make_controller(backend, paths, clock)
    with caplog.at_level(logging.WARNING, logger="modelmon.controller"):
        first = controller.run()
        controller.run()

    horizon = (NOW - DAY) // PERIOD * PERIOD
    assert _starts(backend, paths) == [T0 - 2 * PERIOD, T0]  # only windows after the horizon
    endpoint = replayed.get("ep")
    assert (endpoint.skipped_from_ms, endpoint.skipped_until_ms) == (WEEK_AGO, horizon)
    assert first.endpoints_skipping == 1
    warnings = [r.getMessage() for r in caplog.records if "older than where its analysis starts" in r.getMessage()]
    assert len(warnings) == 1 and "modelmon backfill --endpoint ep --since" in warnings[0]


def test_a_backfill_analyses_the_skipped_traffic_once_and_clears_the_record(backend, paths, clock, replayed):
    controller = make_controller(backend, paths, clock)
    controller.run()

    (done,) = backfill(backend, "test", "ep", WEEK_AGO - DAY, now=NOW)  # before the first request: from it
    assert (done.app_name, done.from_ms, done.until_ms) == ("drift", WEEK_AGO // PERIOD * PERIOD, T0 + PERIOD)
    for _ in range(3):  # 1,008 windows since a week ago: within one run's bound, the rest are no-ops
        controller.run()

    starts = _starts(backend, paths)
    assert sorted(set(starts)) == [WEEK_AGO // PERIOD * PERIOD, WEEK_AGO // PERIOD * PERIOD + PERIOD, T0 - 2 * PERIOD,
                                   T0]
    assert starts.count(WEEK_AGO // PERIOD * PERIOD) == 1  # the skipped windows once
    assert schedule(backend, paths, "ep", "drift")["last_analyzed_ms"] == T0 + PERIOD
    endpoint = replayed.get("ep")
    assert (endpoint.skipped_from_ms, endpoint.skipped_until_ms) == (None, None)


def test_backfill_refuses_what_it_cannot_do(backend, paths, clock, replayed, registry):
    with pytest.raises(ValueError, match="give a time before now"):
        backfill(backend, "test", "ep", NOW + MINUTE, now=NOW)
    with pytest.raises(NotFound, match="no model endpoint 'nope'"):
        backfill(backend, "test", "nope", WEEK_AGO, now=NOW)
    with pytest.raises(ValueError, match="'perf' do not monitor endpoint 'ep'; those that do: drift"):
        backfill(backend, "test", "ep", WEEK_AGO, apps=["perf"], now=NOW)
    put_endpoint(backend, paths, "silent", first=None, watermark=None)
    with pytest.raises(ValueError, match="has no traffic yet"):
        backfill(backend, "test", "silent", WEEK_AGO, now=NOW)


def test_the_cli_shows_skipped_traffic_and_backfills_it(backend, paths, clock, replayed, home, capsys):
    make_controller(backend, paths, clock).run()

    assert main(["endpoints", "--home", str(home), "--project", "test"]) == 0
    table = capsys.readouterr().out
    assert "not_analysed" in table and "2023-11-07T22:13Z .. 2023-11-13T22:20Z" in table
    assert main(["backfill", "--endpoint", "ep", "--since", "2023-11-01", "--home", str(home),
                 "--project", "test"]) == 0
    assert capsys.readouterr().out.strip() == ("drift: windows of ep from 2023-11-07T22:10:00+00:00 to "
                                               "2023-11-14T22:20:00+00:00 will be analysed by the next controller "
                                               "runs")
