"""The storey graph of the stream function: ingest (parse, then store) → complete, one record at a time.

The graph is built once and each record is awaited before the handler returns, because the
platform commits the record's offset when the handler returns: nothing may be acknowledged before it
is durably written. A step that raises (a backend failure) stops a storey flow, so
:class:`IngestFlow` starts a fresh one on the next call; the handler's ``HandlerRetry`` calls again for
the same record until the backend is back, or parks it (Nuclio does not redeliver a failed record).
"""

from __future__ import annotations

import threading

import storey

from modelmon.stream.ingestor import Ingestor, IngestReport
from modelmon.stream.record import RawRecord


def build_flow(ingestor: Ingestor) -> storey.FlowController:
    """Start the graph; ``emit(record).await_result()`` gives the record's :class:`IngestReport`."""
    return storey.build_flow([
        storey.SyncEmitSource(),
        storey.Map(ingestor.process, name="ingest"),  # parse and store under one collector pause
        storey.Complete(),
    ]).run()


class IngestFlow:
    """A running ingestion graph that survives failed records."""

    def __init__(self, ingestor: Ingestor) -> None:
        self.ingestor = ingestor
        self._controller: storey.FlowController | None = None
        # storey's source thread waits on its queue forever, and interpreter exit joins it: a process
        # whose platform never called the termination callback would hang on exit. Stop the flow at
        # the same point concurrent.futures stops its workers (before those threads are joined).
        register = getattr(threading, "_register_atexit", None)
        if register is not None:
            register(self.close)

    def process(self, record: RawRecord) -> IngestReport:
        """Ingest ``record`` and wait until it is written; backend errors propagate."""
        if self._controller is None:
            self._controller = build_flow(self.ingestor)
        try:
            report: IngestReport = self._controller.emit(record).await_result()
            return report
        except Exception:
            self._controller = None  # the flow stopped with this error; its thread has ended
            raise

    def close(self) -> None:
        """Stop the graph (idempotent)."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.terminate()
            controller.await_termination()
