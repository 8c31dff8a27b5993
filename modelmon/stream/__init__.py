"""Stream ingestion: tracking records → sample store, TSDB, endpoint records and dead letters.

The stream function (``functions/stream/handler.py``) is thin glue around :class:`IngestFlow`.
"""

from __future__ import annotations

from modelmon.stream.aggregate import read_predictions
from modelmon.stream.flow import IngestFlow
from modelmon.stream.frames import inferred_names
from modelmon.stream.ingestor import Ingestor
from modelmon.stream.record import RawRecord

__all__ = [
    "IngestFlow",
    "Ingestor",
    "RawRecord",
    "inferred_names",
    "read_predictions",
]
