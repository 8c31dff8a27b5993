"""Tiny monitoring applications the app-runtime tests load by class path ("sample_apps:...")."""

from __future__ import annotations

from modelmon.apps.sdk import ModelMonitoringApplicationBase
from modelmon.core.results import (
    ModelMonitoringApplicationMetric,
    ModelMonitoringApplicationResult,
    ResultKindApp,
    ResultStatusApp,
)


class RowCountApp(ModelMonitoringApplicationBase):
    """Reports the window's row count (detected above ``limit``), its error count and reference features."""

    def __init__(self, limit: int = 100) -> None:
        self.limit = limit

    def do_tracking(self, monitoring_context):
        rows = len(monitoring_context.sample_df)
        status = ResultStatusApp.detected if rows > self.limit else ResultStatusApp.no_detection
        return [
            ModelMonitoringApplicationResult(
                "rows", rows, ResultKindApp.data_drift, status,
                {"reference_features": sorted(monitoring_context.feature_stats),
                 "mean_f0": float(monitoring_context.sample_df["f0"].mean())},
            ),
            ModelMonitoringApplicationMetric("errors", monitoring_context.error_count),
        ]


class PositiveLimitApp(RowCountApp):
    def __init__(self, limit: int = 100) -> None:
        if limit <= 0:
            raise ValueError("limit must be positive")
        super().__init__(limit)


class FailsOnSmallWindowsApp(ModelMonitoringApplicationBase):
    """Raises when the window holds fewer than 5 rows."""

    def do_tracking(self, monitoring_context):
        rows = len(monitoring_context.sample_df)
        if rows < 5:
            raise RuntimeError(f"only {rows} rows")
        return {"rows": rows}


class NotAnApp:
    pass


class HugeExtraDataApp(ModelMonitoringApplicationBase):
    """A result whose extra_data (2 MB) makes the writer event too large for a stream record."""

    def do_tracking(self, monitoring_context):
        return ModelMonitoringApplicationResult(name="huge", value=1.0, kind=ResultKindApp.data_drift,
                                                status=ResultStatusApp.no_detection, extra_data={"blob": "x" * 2**21})


class MissingColumnApp(ModelMonitoringApplicationBase):
    """Reads a column the window does not have: pandas raises the KeyError, deep inside its own code."""

    def do_tracking(self, monitoring_context):
        window = monitoring_context.sample_df
        return {"mean": float(window["no_such_column"].mean())}  # the line a failure must point at


class HugeErrorApp(ModelMonitoringApplicationBase):
    """Raises with a 3 MB message, deep in a recursion: a traceback far over a stream record."""

    def do_tracking(self, monitoring_context, depth: int = 0):
        if depth < 200:
            return self.do_tracking(monitoring_context, depth + 1)
        raise ValueError("y" * 3_000_000)
