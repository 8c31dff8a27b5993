"""A monitoring app the SDK tests register (a top-level module, shipped with its function)."""

from __future__ import annotations

from modelmon import ModelMonitoringApplicationBase, ModelMonitoringApplicationResult, ResultKindApp, ResultStatusApp


class RowCountApp(ModelMonitoringApplicationBase):
    """Reports how many rows the window had."""

    def __init__(self, minimum: int = 1) -> None:
        self.minimum = minimum

    def do_tracking(self, monitoring_context):
        rows = len(monitoring_context.sample_df)
        status = ResultStatusApp.no_detection if rows >= self.minimum else ResultStatusApp.detected
        return ModelMonitoringApplicationResult("row_count", float(rows), ResultKindApp.data_drift, status)
