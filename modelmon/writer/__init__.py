"""The writer: application results and metrics into KV (latest) and TSDB (history), drift status, alerts."""

from __future__ import annotations

from modelmon.writer.alerts import Alert, KVAlertLog, Notifier
from modelmon.writer.history import HistoryWriter
from modelmon.writer.latest import LatestResults, result_key
from modelmon.writer.writer import FUNCTION_NAME, ResultWriter, failure_key

__all__ = [
    "FUNCTION_NAME",
    "Alert",
    "HistoryWriter",
    "KVAlertLog",
    "LatestResults",
    "Notifier",
    "ResultWriter",
    "failure_key",
    "result_key",
]
