"""An app window that meets a store outage is run again, never dropped (Nuclio would not deliver it again).

The app function (``apps/handler.py``) runs under nuclio's test Platform on the local backend, whose sample
store is out for the first reads: inside the app's lazy ``sample_df``, and wrapped in the app's own error.
"""

from __future__ import annotations

import dataclasses

import nuclio_sdk
import nuclio_sdk.test
import pytest
from test_app_function import PATHS, _endpoint, _read, _window

from apps import handler as app_function
from modelmon.apps.sdk import ModelMonitoringApplicationBase
from modelmon.backends import make_backend
from modelmon.core.errors import BackendUnavailable
from modelmon.events import WriterEvent
from modelmon.queries import dead_letters


class WrapsStoreErrorsApp(ModelMonitoringApplicationBase):
    """Catches whatever reading the window raises and raises its own error (as apps built on libraries do)."""

    def do_tracking(self, monitoring_context):
        try:
            rows = len(monitoring_context.sample_df)
        except Exception as exc:
            raise RuntimeError("cannot read the window") from exc
        return {"rows": rows}


class CountsRowsApp(ModelMonitoringApplicationBase):
    def do_tracking(self, monitoring_context):
        return {"rows": len(monitoring_context.sample_df)}


class SamplesOut:
    """The sample store, out (BackendUnavailable) for the next ``reads`` reads."""

    def __init__(self, inner, reads: int) -> None:
        self.inner, self.reads, self.failed = inner, reads, 0

    def read(self, *args, **kwargs):
        if self.failed < self.reads:
            self.failed += 1
            raise BackendUnavailable("sample store: still failing after 6 tries (test outage)")
        return self.inner.read(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture
def outage(monkeypatch, home, backend):
    """Run the app function with the sample store out for ``reads`` reads; its writer events and the store."""
    monkeypatch.setenv("MODELMON_PROJECT", "test")
    monkeypatch.setenv("MODELMON_APP_NAME", "rowcount")
    _endpoint(backend, [4, 6])
    stores = []
    failing = {"reads": 0}  # how many reads the sample store of the next function instance fails

    def flaky_backend(settings):
        real = make_backend(settings)
        stores.append(SamplesOut(real.samples, failing["reads"]))
        return dataclasses.replace(real, samples=stores[-1])

    monkeypatch.setattr(app_function, "make_backend", flaky_backend)

    def run(app_class: str, reads: int, deadline_s: int = 60, windows=(0,)):
        failing["reads"] = reads
        monkeypatch.setenv("MODELMON_APP_CLASS", f"test_window_outages:{app_class}")
        monkeypatch.setenv("MODELMON_RETRY_DEADLINE_SECONDS", str(deadline_s))
        platform = nuclio_sdk.test.Platform()
        totals = [platform.call_handler(app_function.handler, nuclio_sdk.Event(body=_window(k), shard_id=0,
                                                                                offset=k + 1)) for k in windows]
        return totals, [WriterEvent.from_body(b) for b in _read(backend, PATHS.writer_stream)], stores[-1], platform

    return run


@pytest.mark.parametrize("app_class", ["CountsRowsApp", "WrapsStoreErrorsApp"])
def test_a_window_is_run_again_until_the_store_answers_not_recorded_as_failed(outage, backend, app_class):
    totals, out, store, _ = outage(app_class, reads=2, windows=(0, 1))
    assert store.failed == 2  # both failures hit the first window
    assert totals == [{"windows": 1, "failed": 0, "dead_lettered": 0}] * 2
    assert [(e.start_ms, e.error, [m.value for m in e.metrics]) for e in out] == [
        (out[0].start_ms, None, [4]), (out[1].start_ms, None, [6])]  # every window once, none failed
    assert dead_letters(backend, "test").empty


def test_past_the_deadline_the_window_is_parked_on_the_apps_stream_and_done_from_there(outage, backend):
    totals, out, store, platform = outage("CountsRowsApp", reads=10_000, deadline_s=1)
    assert totals == [{"windows": 0, "failed": 0, "dead_lettered": 0, "parked": 1}] and out == []
    (parked,) = backend.streams.read(PATHS.app_stream("rowcount"), 0, 1)

    assert store.failed > 2  # retried until the deadline
    store.reads = 0  # the store is back when the copy comes round, to the same worker
    totals = platform.call_handler(app_function.handler, nuclio_sdk.Event(body=parked.data, shard_id=0,
                                                                           offset=parked.sequence))
    assert totals == {"windows": 1, "failed": 0, "dead_lettered": 0}
    (event,) = [WriterEvent.from_body(b) for b in _read(backend, PATHS.writer_stream)]
    assert (event.error, [m.value for m in event.metrics]) == (None, [4])
