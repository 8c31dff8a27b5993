"""Monitoring applications whose outputs the reader tests read back: a dict (metrics only) and a failure."""

from __future__ import annotations

from modelmon.apps.sdk import ModelMonitoringApplicationBase


class RowsApp(ModelMonitoringApplicationBase):
    """Returns a dict, which becomes metrics: the window's row count and the mean of ``age``."""

    def do_tracking(self, monitoring_context):
        df = monitoring_context.sample_df
        return {"rows": len(df), "age_mean": float(df["age"].mean())}


class MissingColumnApp(ModelMonitoringApplicationBase):
    """Reads a column the traffic does not have: a ``KeyError`` raised on :data:`FAILING_LINE`."""

    def do_tracking(self, monitoring_context):
        return {"x": float(monitoring_context.sample_df["no_such_column"].mean())}


FAILING_LINE = 20
