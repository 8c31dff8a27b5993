"""Stream ingestion: tracking records → sample store, TSDB, endpoint records and dead letters.

The stream function (``functions/stream/handler.py``) is thin glue around :class:`IngestFlow`.
"""

from __future__ import annotations

from modelmon.stream.aggregate import read_predictions
from modelmon.stream.flow import IngestFlow, build_flow
from modelmon.stream.frames import inferred_names
from modelmon.stream.ingestor import FUNCTION_NAME, Ingestor, IngestReport
from modelmon.stream.parsing import ParsedRecord, Rejection, parse_record
from modelmon.stream.record import RawRecord

__all__ = [
    "FUNCTION_NAME",
    "IngestFlow",
    "IngestReport",
    "Ingestor",
    "ParsedRecord",
    "RawRecord",
    "Rejection",
    "build_flow",
    "inferred_names",
    "parse_record",
    "read_predictions",
]
