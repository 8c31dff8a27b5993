"""The whole pipeline on the ``v3io`` test servers while framesd and then the web API are down for longer than
every retry, under Nuclio's commit rule: a record whose handler raised is never delivered again, and later
records commit past it (``modelmon run`` delivers the same way; docs/v3io.md has the rule and its sources).

The functions must keep every record themselves (``modelmon.functions.handling.HandlerRetry``): the stream
function waits framesd out until its retry deadline (3 s here), then parks the record on its stream, and a
handler meeting the web API down waits it out too. Afterwards the run must store exactly what the local run
stores and what the apps compute in this process: nothing lost, nothing twice, nothing dead-lettered. With
handlers that raise instead, records are lost and windows are never analysed.

Its own module, so that no earlier session of ``test_pipeline_v3io.py`` still runs beside it.
"""

from __future__ import annotations

import dataclasses
import time

import pytest
from pipeline_checks import (
    WINDOWS,
    assert_every_window_has_exactly_the_expected_results,
    assert_same_results,
    assert_samples_hold_each_request_once,
    comparable_results,
    demo_config,
    local_reference,
    v3io_storage,
    wait_through_faults,
)
from v3io_server.stack import running_servers

from modelmon.backends import SeekTo
from modelmon.core.errors import BackendUnavailable
from modelmon.core.paths import ProjectPaths
from modelmon.demo.session import DemoSession
from modelmon.queries import dead_letters

pytestmark = pytest.mark.slow

DEADLINE_S = 3  # MODELMON_RETRY_DEADLINE_SECONDS of the run: framesd stays down longer than that
STREAM_PARKED = ("record parked after the retry deadline", "TSDB write", "'function': 'model-monitoring-stream'")


def _logged(session: DemoSession, *needles: str) -> bool:
    """Whether one line of the functions' log holds every needle."""
    try:
        text = session.log_file.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return False
    return any(all(n in line for n in needles) for line in text.splitlines())


def _waited_on_the_web_api(session: DemoSession) -> bool:
    """A handler met the web API down and kept its record: it retried, or (past its deadline) tried to park
    it, which needs the web API too (the trigger's own reads log ``backend unavailable (...); retrying``)."""
    return _logged(session, "; retrying: {", "'error': 'BackendUnavailable: V3IO")


def _until(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"{what} not seen in {timeout_s:g}s"
        time.sleep(0.05)


def _eventually(check, timeout_s: float) -> None:
    """``check()`` once it passes: a window a parked record belonged to is analysed again after the copy."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            check()
            return
        except (AssertionError, BackendUnavailable):
            if time.monotonic() > deadline:
                raise
        time.sleep(0.5)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return local_reference(tmp_path_factory)


@pytest.fixture(scope="module")
def outage_run(tmp_path_factory):
    """Half the traffic; once results flow, framesd stops and the other half is sent; framesd stays down until
    the stream function has parked a record (a raising handler: until it failed on the TSDB), then the web API
    stops until a handler has met it, and both come back."""
    with running_servers() as (web, frames):
        storage = dataclasses.replace(v3io_storage(web, frames), retry_deadline_seconds=DEADLINE_S)
        with DemoSession(demo_config(tmp_path_factory, "outages"), storage=storage) as session:
            session.send_traffic(range(WINDOWS // 2))
            _until(lambda: session.window_progress().done > 0, 60, "a first analysed window")
            frames.stop()
            try:
                session.send_traffic(range(WINDOWS // 2, WINDOWS))
                _until(lambda: _logged(session, *STREAM_PARKED) or _logged(session, "stream handler failed", "TSDB"),
                       60, "the stream function parking a record while framesd is down")
                web.stop()
            finally:
                frames.start()
            try:
                _until(lambda: _waited_on_the_web_api(session) or _logged(session, "stream handler failed", "V3IO"),
                       60, "a handler meeting the web API down")
            finally:
                web.start()
            yield session, wait_through_faults(session, timeout_s=120)


def test_outages_were_met_inside_the_handlers_and_a_record_parked(outage_run):
    session, _ = outage_run
    # framesd down: the TSDB client's own retries, then the handler's until the deadline, then the park
    assert _logged(session, *STREAM_PARKED)
    assert _waited_on_the_web_api(session)
    assert not _logged(session, "stream handler failed")  # no handler raised: Nuclio would have lost its record


def test_outages_lose_and_duplicate_nothing(outage_run, reference):
    session, progress = outage_run

    def everything_once() -> None:
        assert_every_window_has_exactly_the_expected_results(session, session.window_progress())
        assert_samples_hold_each_request_once(session)
        assert_same_results(comparable_results(session), reference)

    assert progress.complete
    _eventually(everything_once, timeout_s=120)
    assert dead_letters(session.backend, session.config.project).empty  # nothing given up on
    streams = session.backend.streams
    tracking = ProjectPaths(session.config.project).tracking_stream
    shards = range(streams.describe(tracking).shards)
    committed = [streams.committed(tracking, "model-monitoring-stream", shard) for shard in shards]
    assert committed == [streams.seek(tracking, shard, SeekTo.LATEST) for shard in shards]  # copies too
