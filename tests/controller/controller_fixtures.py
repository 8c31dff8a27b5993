"""Helpers and fixtures of the controller tests (a uniquely named module: ``conftest`` names clash across dirs)."""

from __future__ import annotations

import pandas as pd
import pytest

from modelmon.apps.registry import AppRegistry
from modelmon.controller import Controller
from modelmon.core.errors import NotFound
from modelmon.core.paths import ProjectPaths
from modelmon.endpoints.record import ModelEndpoint
from modelmon.events import WindowEvent
from modelmon.testing import ManualClock, stream_records

MINUTE = 60_000
PERIOD = 10 * MINUTE
T0 = 1_700_000_000_000 // PERIOD * PERIOD  # a window boundary


@pytest.fixture
def paths(settings) -> ProjectPaths:
    return ProjectPaths(settings.project)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def registry(backend, paths) -> AppRegistry:
    return AppRegistry(backend.kv, paths, system_period_minutes=10)


def make_controller(backend, paths, clock, **kwargs) -> Controller:
    kwargs = {"base_period_minutes": 10, "grace_minutes": 30, "backfill_minutes": 24 * 60, **kwargs}
    return Controller(backend, paths, clock=clock, **kwargs)


def put_endpoint(backend, paths, endpoint_id: str, *, first: int | None, watermark: int | None,
                 name: str = "", labels: dict | None = None) -> None:
    endpoint = ModelEndpoint(endpoint_id, name=name or endpoint_id, first_request_ms=first, watermark_ms=watermark,
                             labels=labels or {})
    backend.kv.put(paths.endpoints_table, endpoint_id, endpoint.to_item())


def add_requests(backend, paths, endpoint_id: str, minutes: list[int], count: int = 3) -> None:
    """Per-minute prediction counts as the stream function writes them (times are minute starts)."""
    df = pd.DataFrame({
        "time": [m // MINUTE * MINUTE for m in minutes],
        "endpoint_id": endpoint_id,
        "count": count,
        "latency_sum_us": 100.0 * count,
        "latency_max_us": 100.0,
    })
    backend.tsdb.create_table(paths.predictions_tsdb)
    backend.tsdb.write(paths.predictions_tsdb, df, labels=["endpoint_id"])


def dispatched(backend, paths, app_name: str) -> list[WindowEvent]:
    """Every window event on the app's stream, in stream order per shard."""
    try:
        records = stream_records(backend.streams, paths.app_stream(app_name))
    except NotFound:
        return []
    return [WindowEvent.from_body(r.data) for r in records]


def schedule(backend, paths, endpoint_id: str, app_name: str) -> dict:
    return backend.kv.get(paths.schedules_table, f"{endpoint_id}.{app_name}")
