"""The writer: application results and metrics into KV (latest) and TSDB (history), drift status, alerts."""

from __future__ import annotations

from modelmon.writer.alerts import Alert, KVAlertLog, Notifier
from modelmon.writer.writer import ResultWriter

__all__ = ["Alert", "KVAlertLog", "Notifier", "ResultWriter"]
