"""Packed dispatch: the windows of one app and shard travel many to a record, each endpoint on its own shard.

The deployed controller (``Controller.from_settings``) packs; a ``Controller`` built directly writes one window
per record unless told to pack. Packing changes the records, not what is dispatched: the same windows, counted
and confirmed as windows, each endpoint's in order on the shard its id hashes to, run after run.
"""

from __future__ import annotations

import pytest
from controller_fixtures import PERIOD, T0, add_requests, make_controller, put_endpoint

from modelmon.backends import scan_all
from modelmon.backends.local.streams import shard_for_key
from modelmon.controller import Controller
from modelmon.core.config import Settings
from modelmon.events import WindowEvent
from modelmon.functions.packing import PACK_MESSAGES, packed_messages
from modelmon.testing import stream_records

ENDPOINTS = [f"ep{i}" for i in range(7)]


def _setup(backend, paths, registry, windows: int) -> None:
    registry.register("drift", "modelmon.apps:HistogramDataDriftApplication")
    backend.streams.create(paths.app_stream("drift"), shards=3)
    for endpoint in ENDPOINTS:
        put_endpoint(backend, paths, endpoint, first=T0, watermark=T0 + windows * PERIOD)
        add_requests(backend, paths, endpoint, [T0 + k * PERIOD + 1000 for k in range(windows)])


def _records(backend, paths) -> list[tuple[int, list[WindowEvent]]]:
    out = []
    for record in stream_records(backend.streams, paths.app_stream("drift")):
        packed = packed_messages(record.data)
        messages = [record.data] if packed is None else [p.message for p in packed]
        out.append((record.shard, [WindowEvent.from_body(m) for m in messages]))
    return out


def test_windows_of_a_shard_travel_packed_in_order(backend, paths, registry, clock):
    _setup(backend, paths, registry, windows=3)
    clock.now = T0 + 3 * PERIOD + 1

    report = make_controller(backend, paths, clock, pack_windows=4).run()

    assert report.windows_dispatched == 3 * len(ENDPOINTS)
    records = _records(backend, paths)
    assert all(1 <= len(windows) <= 4 for _, windows in records)
    assert sum(len(windows) > 1 for _, windows in records) >= 3  # packed, not one per record
    seen = [(w.endpoint_id, w.start_ms) for _, windows in records for w in windows]
    assert sorted(seen) == [(e, T0 + k * PERIOD) for e in ENDPOINTS for k in range(3)]  # each window once
    for shard, windows in records:
        assert {shard_for_key(w.endpoint_id, 3) for w in windows} == {shard}
    for endpoint in ENDPOINTS:
        starts = [w.start_ms for _, windows in records for w in windows if w.endpoint_id == endpoint]
        assert starts == sorted(starts)
    (confirmation,) = [item for _, item in scan_all(backend.kv, paths.claims_table)]
    assert confirmation["windows"] == 3 * len(ENDPOINTS)


def test_a_controller_built_directly_writes_one_window_per_record(backend, paths, registry, clock):
    _setup(backend, paths, registry, windows=2)
    clock.now = T0 + 2 * PERIOD + 1

    make_controller(backend, paths, clock).run()

    records = list(stream_records(backend.streams, paths.app_stream("drift")))
    assert len(records) == 2 * len(ENDPOINTS)
    assert all(packed_messages(r.data) is None for r in records)


def test_the_deployed_controller_packs(backend, paths, registry, clock, settings):
    _setup(backend, paths, registry, windows=1)
    clock.now = T0 + PERIOD + 1
    configured = Settings(home=settings.home, project=settings.project, base_period_minutes=10, grace_minutes=30)

    Controller.from_settings(configured, backend, clock=clock).run()

    records = _records(backend, paths)
    assert len(records) == 3  # one per shard: 7 windows fit in a pack of PACK_MESSAGES
    assert sum(len(windows) for _, windows in records) == len(ENDPOINTS) < PACK_MESSAGES


def test_pack_windows_must_be_positive(backend, paths, clock):
    with pytest.raises(ValueError, match="pack_windows=0"):
        make_controller(backend, paths, clock, pack_windows=0)
