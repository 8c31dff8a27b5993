"""A project with real traffic counts, a real controller run, a real app runner and a real writer, for the
status tests (a uniquely named module: ``conftest`` names clash across test folders)."""

from __future__ import annotations

import dataclasses

import pandas as pd

from modelmon.apps.registry import AppRegistry
from modelmon.apps.runner.runner import AppRunner
from modelmon.apps.sdk import ModelMonitoringApplicationBase
from modelmon.backends.base import Backend
from modelmon.controller import Controller
from modelmon.core.paths import ProjectPaths
from modelmon.core.results import ModelMonitoringApplicationResult, ResultKindApp, ResultStatusApp
from modelmon.endpoints.record import ModelEndpoint
from modelmon.testing import ManualClock
from modelmon.writer.writer import ResultWriter

MINUTE = 60_000
PERIOD = 10 * MINUTE
APP = "shift"
WRITER_GROUP = "model-monitoring-writer"


class ShiftApp(ModelMonitoringApplicationBase):
    """One result per window; a window starting at ``fail_at`` raises KeyError, as a typo'd column would."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.fail_at = fail_at

    def do_tracking(self, monitoring_context):
        if monitoring_context.start_infer_time.value // 1_000_000 == self.fail_at:
            return {}["no_such_column"]
        return ModelMonitoringApplicationResult("shift", 0.5, ResultKindApp.data_drift, ResultStatusApp.no_detection)


@dataclasses.dataclass
class Pipeline:
    """The controller, the app and the writer of one project on one backend, driven by hand."""

    backend: Backend
    project: str
    clock: ManualClock
    app: ShiftApp

    @property
    def paths(self) -> ProjectPaths:
        return ProjectPaths(self.project)

    def register(self, name: str = APP, **kwargs) -> None:
        AppRegistry(self.backend.kv, self.paths, system_period_minutes=10).register(name, "status_fixtures:ShiftApp",
                                                                                    **kwargs)

    def traffic(self, endpoint_id: str, name: str, window_starts: list[int], watermark: int) -> None:
        """Requests in each window (per-minute counts, as the stream function writes them) and the
        endpoint's record with its first request and watermark."""
        endpoint = ModelEndpoint(endpoint_id, name=name, first_request_ms=min(window_starts), watermark_ms=watermark)
        self.backend.kv.put(self.paths.endpoints_table, endpoint_id, endpoint.to_item())
        df = pd.DataFrame({"time": [s + MINUTE for s in window_starts], "endpoint_id": endpoint_id, "count": 3,
                           "latency_sum_us": 300.0, "latency_max_us": 100.0})
        self.backend.tsdb.create_table(self.paths.predictions_tsdb)
        self.backend.tsdb.write(self.paths.predictions_tsdb, df, labels=["endpoint_id"])

    def run_controller(self) -> int:
        controller = Controller(self.backend, self.paths, base_period_minutes=10, grace_minutes=30,
                                backfill_minutes=24 * 60, clock=self.clock)
        return controller.run().windows_dispatched

    def run_app(self, records: int, name: str = APP) -> None:
        """The app takes the next ``records`` window events of its stream and commits, as its trigger does."""
        runner = AppRunner(self.app, name, self.backend, self.paths, clock=self.clock)
        self._consume(self.paths.app_stream(name), name, records, runner.handle)

    def run_writer(self, records: int) -> None:
        writer = ResultWriter(self.backend, self.paths, clock=self.clock)
        self._consume(self.paths.writer_stream, WRITER_GROUP, records, writer.handle)

    def _consume(self, path: str, group: str, records: int, handle) -> None:
        streams = self.backend.streams
        start = streams.committed(path, group, 0) or 1
        batch = streams.read(path, 0, start, limit=records)
        assert len(batch) == records, f"{path}: {len(batch)} records to read, not {records}"
        for record in batch:
            handle(record.data)
        streams.commit(path, group, 0, batch[-1].sequence + 1)
