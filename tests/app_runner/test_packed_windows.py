"""A packed record of windows through the app function (``apps/handler.py``) and the writer, on the local backend.

The pack gives the same writer events, and the writer the same stored state, as the same windows one per record;
a bad message, a window of another app and a window the runner keeps failing on are dead-lettered alone, each
with its reason; an app failing on one window fails that window only.
"""

from __future__ import annotations

import json

import nuclio_sdk
import nuclio_sdk.test
import numpy as np
import pandas as pd
import pytest

from apps import handler as app_function
from modelmon.backends import make_backend, scan_all
from modelmon.core.errors import CorruptStore
from modelmon.core.paths import ProjectPaths
from modelmon.endpoints.record import ModelEndpoint
from modelmon.events import WindowEvent, WriterEvent
from modelmon.functions.packing import pack, record_messages
from modelmon.queries import dead_letters
from modelmon.stats import feature_stats
from modelmon.testing import stream_records
from modelmon.writer.writer import ResultWriter

PERIOD = 600_000
T0 = 1_700_000_000_000 // PERIOD * PERIOD
PATHS = ProjectPaths("test")
ROWS = {"ep1": [7, 8], "ep2": [2, 9], "ep3": [6, 1]}  # rows per window: under 5 rows the app fails


@pytest.fixture
def app_env(monkeypatch, home, backend):
    monkeypatch.setenv("MODELMON_PROJECT", "test")
    monkeypatch.setenv("MODELMON_APP_NAME", "rowcount")
    monkeypatch.setenv("MODELMON_APP_CLASS", "sample_apps:FailsOnSmallWindowsApp")
    rng = np.random.default_rng(3)
    reference = pd.DataFrame({"f0": rng.normal(size=200)})
    for endpoint, rows in ROWS.items():
        backend.kv.put(PATHS.endpoints_table, endpoint, ModelEndpoint(
            endpoint, name=f"model-{endpoint}", feature_names=["f0"], feature_stats=feature_stats(reference),
            first_request_ms=T0, last_request_ms=T0 + 2 * PERIOD - 1).to_item())
        frames = [pd.DataFrame({"timestamp": T0 + k * PERIOD + np.arange(n) * 1000, "f0": rng.normal(size=n)})
                  for k, n in enumerate(rows)]
        backend.samples.append(endpoint, pd.concat(frames, ignore_index=True), batch_id="b")
    return backend


def _windows(app: str = "rowcount") -> list[bytes]:
    return [WindowEvent("test", endpoint, app, T0 + k * PERIOD, T0 + (k + 1) * PERIOD, f"model-{endpoint}").to_body()
            for k in (0, 1) for endpoint in ROWS]


def _call(bodies: list[bytes]) -> list[dict]:
    platform = nuclio_sdk.test.Platform()
    return [platform.call_handler(app_function.handler, nuclio_sdk.Event(body=b, shard_id=0, offset=i + 1))
            for i, b in enumerate(bodies)]


def _writer_events(backend) -> list[WriterEvent]:
    out = []
    for record in stream_records(backend.streams, PATHS.writer_stream):
        out += [WriterEvent.from_body(m) for m in record_messages(record.data)]
    return out


def _stored(backend) -> dict[str, object]:
    """What the writer left readable: latest results, metrics, failures, history rows."""
    writer = ResultWriter(backend, PATHS)
    for record in stream_records(backend.streams, PATHS.writer_stream):
        writer.handle_record(record.data)

    def table(name: str) -> dict[str, dict]:
        return {k: {a: v for a, v in item.items() if a not in ("updated_ms", "time_ms")}
                for k, item in scan_all(backend.kv, name)}
    history = backend.tsdb.read(PATHS.metrics_tsdb, 0, 2**62).drop(columns=["updated_ms"])
    return {"metrics": table(PATHS.app_metrics_table), "failures": table(PATHS.app_failures_table),
            "history": history.sort_values(["endpoint_id", "time"]).to_dict("records")}


def _key(event: WriterEvent) -> tuple:
    return (event.endpoint_id, event.start_ms, event.end_ms, event.metrics, event.error)


def test_a_pack_gives_what_its_windows_give_one_per_record(app_env, tmp_path, monkeypatch):
    packed = pack(_windows())
    assert len(packed) == 1

    totals = _call(packed)

    assert totals == [{"windows": 6, "failed": 2, "dead_lettered": 0}]
    records = list(stream_records(app_env.streams, PATHS.writer_stream))
    assert len(records) == 1 and records[0].data.startswith(b"[")  # answered with one packed record
    together = _writer_events(app_env)
    assert [(e.endpoint_id, e.start_ms, e.error is not None) for e in together] == [
        ("ep1", T0, False), ("ep2", T0, True), ("ep3", T0, False),
        ("ep1", T0 + PERIOD, False), ("ep2", T0 + PERIOD, False), ("ep3", T0 + PERIOD, True)]
    stored_together = _stored(app_env)

    monkeypatch.setenv("MODELMON_HOME", str(tmp_path / "alone"))  # the same windows, one per record
    from modelmon.core.config import Settings
    alone_backend = make_backend(Settings.from_env())
    for table in (PATHS.endpoints_table,):
        for key, item in scan_all(app_env.kv, table):
            alone_backend.kv.put(table, key, item)
    for endpoint in ROWS:
        alone_backend.samples.append(endpoint, app_env.samples.read(endpoint, 0, 2**62), batch_id="b")
    assert _call(_windows()) == [{"windows": 1, "failed": int(n < 5), "dead_lettered": 0}
                                 for k in (0, 1) for n in (ROWS[e][k] for e in ROWS)]
    alone = _writer_events(alone_backend)
    assert [_key(e) for e in alone] == [_key(e) for e in together]
    assert _stored(alone_backend) == stored_together
    alone_backend.close()


def test_bad_messages_of_a_pack_are_dead_lettered_alone_with_their_reasons(app_env):
    good = _windows()[:2]
    other_app = _windows("another-app")[0]
    body = b"[" + b",".join([good[0], b'{"kind":"window","schema":1}', b"17", other_app, good[1]]) + b"]"

    totals = _call([body])

    assert totals == [{"windows": 2, "failed": 1, "dead_lettered": 0}]
    assert [(e.endpoint_id, e.error is not None) for e in _writer_events(app_env)] == [("ep1", False), ("ep2", True)]
    letters = dead_letters(app_env, "test")
    assert sorted(letters["reason"]) == [
        "message 2 of 5 in a packed record: window message is missing 'project'",
        "message 3 of 5 in a packed record: a JSON int, expected an object",
        "message 4 of 5 in a packed record: window for application 'another-app' reached 'rowcount'"]
    assert set(letters["function"]) == {"rowcount"}
    assert json.loads(letters[letters["reason"].str.startswith("message 4")]["payload"].iloc[0])["app_name"] == \
        "another-app"


def test_an_unreadable_pack_is_dead_lettered_whole(app_env):
    assert _call([b'[{"kind": "window"}, NaN]']) == [{"windows": 0, "failed": 0, "dead_lettered": 1}]
    (reason,) = dead_letters(app_env, "test")["reason"]
    assert reason.startswith("packed record is not valid JSON")


def test_a_window_the_runner_keeps_failing_on_is_dead_lettered_and_the_others_go_on(app_env, monkeypatch):
    store = type(app_env.samples)
    real = store._read_files

    def corrupt_ep2(self, endpoint_id, *args, **kwargs):
        if endpoint_id == "ep2":
            raise CorruptStore("ep2: unreadable sample file (test)")
        return real(self, endpoint_id, *args, **kwargs)

    monkeypatch.setattr(store, "_read_files", corrupt_ep2)
    from modelmon.apps.runner.window_samples import WindowSamples
    monkeypatch.setattr(WindowSamples, "_plan", lambda self, store, key: None)  # every window read by the store

    totals = _call(pack(_windows()))

    assert totals == [{"windows": 4, "failed": 1, "dead_lettered": 0}]
    assert {e.endpoint_id for e in _writer_events(app_env)} == {"ep1", "ep3"}
    reasons = sorted(dead_letters(app_env, "test")["reason"])
    assert reasons == [f"message {i} of 6 in a packed record: CorruptStore: ep2: unreadable sample file (test)"
                       for i in (2, 5)]


def test_an_endpoint_id_the_store_refuses_fails_its_window_only(app_env):
    """The pack's endpoint records and samples are read together; an id the store refuses (empty) must not fail the
    other windows with it (the samples' read-ahead failed the window that started it)."""
    bad = WindowEvent("test", "", "rowcount", T0, T0 + PERIOD, "nameless").to_body()
    good = _windows()

    totals = _call(pack([good[0], bad, *good[1:]]))

    assert totals == [{"windows": 6, "failed": 2, "dead_lettered": 0}]  # the app's own, on its small windows
    events = _writer_events(app_env)
    assert sorted(e.endpoint_id for e in events) == ["ep1", "ep1", "ep2", "ep2", "ep3", "ep3"]
    assert all(e.error is None or e.error.startswith("RuntimeError: only") for e in events)
    (reason,) = dead_letters(app_env, "test")["reason"]
    assert reason.startswith("message 2 of 7 in a packed record: ValueError: KV") and "non-empty" in reason
