"""The tracking client: records requests on the serving path and pushes them to the tracking stream.

The request path only appends a tuple to a bounded buffer (no JSON, no I/O). A background thread turns
up to ``batch_size`` requests into a record in MLRun's batched ``headers/values`` shape
(:func:`modelmon.events.tracking_body`) and puts it with the endpoint id as partition key, at the latest
``max_delay_s`` after the oldest buffered request. A batch whose record would be over the stream's
limit (:data:`~modelmon.backends.base.MAX_RECORD_BYTES`, 1 MB on V3IO: wide models) is cut into several
records that fit, all put in one call; a single request too large for any record is dropped, counted
(``oversize``) and logged, never retried. When the stream is slow or down the records not stored are
retried with backoff (after a partly stored put, only those) while new requests keep filling the buffer;
once it is full, new requests are dropped and counted (:meth:`TrackingClient.stats`), never blocking or
failing the model request.

Each record carries a unique ``record_id``, encoded once and re-sent unchanged on every retry: a put
whose answer was lost (V3IO stores the record, the client sends it again) leaves two copies on the
stream, and the stream function counts the second one as a duplicate.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from modelmon.backends.base import MAX_RECORD_BYTES, OutRecord, PutIncomplete, RecordTooLarge, Stream
from modelmon.core.errors import NotFound
from modelmon.events import tracking_body

_log = logging.getLogger(__name__)
_ORJSON = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


@dataclasses.dataclass(frozen=True)
class TrackedModel:
    """What every tracking record of one endpoint says about the model (MLRun's event metadata)."""

    model: str
    function_uri: str
    version: str | None = None
    model_class: str = ""
    endpoint_id: str | None = None
    labels: dict[str, Any] = dataclasses.field(default_factory=dict)
    host: str = ""
    worker: int = 0


# one buffered request: (request_id, inputs, outputs, start_ns (epoch), latency_us, error, the server's metrics)
_Entry = tuple[str, Any, Any, int, int | None, str | None, dict[str, Any] | None]
# one encoded stream record and the number of requests it carries
_Encoded = tuple[bytes, int]


class TrackingClient:
    """Buffers tracked requests and pushes them in batches from a background thread.

    :param streams: the backend's Stream role.
    :param stream_path: the tracking stream (``ProjectPaths(project).tracking_stream``).
    :param model: the model metadata written into every record.
    :param batch_size: requests per stream record (MLRun's ``batch``).
    :param max_delay_s: a buffered request is pushed at most this long after it was recorded
        (unless the stream is down).
    :param buffer_size: requests held while the stream is slow or down; more are dropped and counted.
    :param sampling_percentage: the share of requests tracked (0-100), drawn with ``seed``.
    """

    def __init__(
        self,
        streams: Stream,
        stream_path: str,
        model: TrackedModel,
        *,
        batch_size: int = 100,
        max_delay_s: float = 1.0,
        buffer_size: int = 10_000,
        sampling_percentage: float = 100,
        seed: int | None = None,
        max_backoff_s: float = 5.0,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a whole number >= 1, got {batch_size!r}")
        if not 0 <= sampling_percentage <= 100:
            raise ValueError(f"sampling_percentage must be between 0 and 100, got {sampling_percentage!r}")
        if max_delay_s <= 0:
            raise ValueError(f"max_delay_s must be positive, got {max_delay_s!r}")
        if buffer_size < batch_size:
            raise ValueError(f"buffer_size ({buffer_size}) must hold at least one batch ({batch_size})")
        self.streams = streams
        self.stream_path = stream_path
        self.model = model
        self.batch_size = batch_size
        self.max_delay_s = max_delay_s
        self.buffer_size = buffer_size
        self.sampling_percentage = sampling_percentage
        self.max_backoff_s = max_backoff_s
        self._sample = random.Random(seed).random
        self._buffer: list[_Entry] = []
        self._in_flight = 0  # requests taken by the pusher and not yet pushed or dropped
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._idle = threading.Condition(self._lock)
        self._closing = False
        self._flush_requested = False
        self._counts = dict.fromkeys(
            ("recorded", "sampled_out", "pushed", "records", "dropped", "oversize", "push_errors"), 0)
        self._last_error: str | None = None
        self._last_drop: str | None = None
        self._thread = threading.Thread(target=self._run, name=f"modelmon-tracking-{model.model}", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------------------ request path

    def record(self, request_id: str, inputs: Any, outputs: Any, start_ns: int, latency_us: int | None,
               error: str | None = None, metrics: Mapping[str, Any] | None = None) -> bool:
        """Buffer one request (``start_ns``: epoch ns when it started). ``False`` if sampled out or dropped.

        ``metrics``: the model server's own figures as of this request (MLRun's serving event ``metrics``;
        a copy is kept), sent with an answered request. Never blocks on the stream and never raises for a
        full buffer.
        """
        if self.sampling_percentage < 100 and self._sample() * 100 >= self.sampling_percentage:
            with self._lock:
                self._counts["sampled_out"] += 1
            return False
        with self._lock:
            if self._closing or len(self._buffer) + self._in_flight >= self.buffer_size:
                self._counts["dropped"] += 1
                dropped = self._counts["dropped"]
            else:
                self._buffer.append((request_id, inputs, outputs, start_ns, latency_us, error,
                                     dict(metrics) if metrics else None))
                self._counts["recorded"] += 1
                if len(self._buffer) == self.batch_size:
                    self._wake.notify()
                return True
        if dropped & (dropped - 1) == 0:  # log the 1st, 2nd, 4th, 8th... drop, not every one
            _log.warning("tracking buffer full (%d requests): dropped %d request(s) so far; last push error: %s",
                         self.buffer_size, dropped, self._last_error)
        return False

    # ------------------------------------------------------------------------------ control

    def stats(self) -> dict[str, Any]:
        """Counters: recorded, sampled_out, pushed (requests), records, dropped (of which ``oversize``: a request
        too large for any stream record), push_errors, buffered; ``last_error`` (push) and ``last_drop`` (why the
        latest request was dropped, when not for a full buffer)."""
        with self._lock:
            return {**self._counts, "buffered": len(self._buffer) + self._in_flight, "last_error": self._last_error,
                    "last_drop": self._last_drop}

    def flush(self, timeout: float = 10.0) -> bool:
        """Push everything buffered now; ``True`` if the buffer emptied within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._flush_requested = True
            self._wake.notify()
            while self._buffer or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._thread.is_alive():
                    return False
                self._idle.wait(remaining)
            return True

    def close(self, timeout: float = 10.0) -> None:
        """Flush (on termination), then stop the pusher; what could not be pushed is counted as dropped."""
        flushed = self.flush(timeout)
        with self._lock:
            self._closing = True
            self._wake.notify()
        self._thread.join(timeout if flushed else 1.0)
        with self._lock:
            lost = len(self._buffer) + self._in_flight
            if lost:
                self._counts["dropped"] += lost
                self._buffer.clear()
                self._in_flight = 0
                _log.warning("tracking closed with %d request(s) not pushed (%s)", lost, self._last_error)

    # ------------------------------------------------------------------------------ pusher thread

    def _take(self) -> list[_Entry] | None:
        """The next batch to push (waiting for it), or ``None`` when closing with nothing left."""
        with self._lock:
            first_seen: float | None = None
            while True:
                if self._buffer and first_seen is None:
                    first_seen = time.monotonic()
                full = len(self._buffer) >= self.batch_size
                due = first_seen is not None and time.monotonic() - first_seen >= self.max_delay_s
                if self._buffer and (full or due or self._flush_requested or self._closing):
                    batch = self._buffer[:self.batch_size]
                    del self._buffer[:self.batch_size]
                    self._in_flight = len(batch)
                    return batch
                if self._closing:
                    return None
                self._flush_requested = False
                self._idle.notify_all()
                wait = self.max_delay_s if first_seen is None else max(
                    0.0, self.max_delay_s - (time.monotonic() - first_seen))
                self._wake.wait(wait)

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            pending = self._encode(batch)
            backoff = 0.05
            while pending := self._push(pending):  # what is left after a failure: retried, never re-sent whole
                with self._lock:
                    if self._closing:
                        self._counts["dropped"] += sum(count for _, count in pending)
                        break
                    self._wake.wait(backoff)  # close() wakes us early
                backoff = min(backoff * 2, self.max_backoff_s)
            with self._lock:
                self._in_flight = 0
                if not self._buffer:
                    self._idle.notify_all()

    def _encode(self, batch: Sequence[_Entry]) -> list[_Encoded]:
        """The batch as records of at most ``MAX_RECORD_BYTES``; a request too large alone is dropped."""
        m = self.model
        return self._fit([_request(m, entry) for entry in batch], [])

    def _fit(self, requests: list[dict[str, Any]], out: list[_Encoded]) -> list[_Encoded]:
        data = self._body(requests)
        if len(data) <= MAX_RECORD_BYTES:
            out.append((data, len(requests)))
        elif len(requests) == 1:
            self._drop_oversize(requests[0]["request"].get("id"), len(data))
        else:  # about as many parts as it takes, each checked again
            parts = min(len(requests), len(data) // (MAX_RECORD_BYTES * 7 // 8) + 1)
            step = -(-len(requests) // parts)
            for first in range(0, len(requests), step):
                self._fit(requests[first:first + step], out)
        return out

    def _body(self, requests: list[dict[str, Any]]) -> bytes:
        m = self.model
        body = tracking_body(model=m.model, function_uri=m.function_uri, requests=requests, version=m.version,
                             model_class=m.model_class, endpoint_id=m.endpoint_id, labels=m.labels or None,
                             host=m.host, worker=m.worker, record_id=uuid.uuid4().hex,
                             sampling_percentage=self.sampling_percentage)
        return orjson.dumps(body, option=_ORJSON)

    def _drop_oversize(self, request_id: Any, size: int) -> None:
        reason = (f"request {request_id!r} alone makes a tracking record of {size:,} bytes, over the stream's "
                  f"limit of {MAX_RECORD_BYTES:,} bytes per record")
        with self._lock:
            self._counts["dropped"] += 1
            self._counts["oversize"] += 1
            oversize = self._counts["oversize"]
            self._last_drop = reason
        if oversize & (oversize - 1) == 0:  # log the 1st, 2nd, 4th, 8th... one
            _log.warning("tracking dropped %d request(s) too large to send so far: %s", oversize, reason)

    def _push(self, pending: list[_Encoded]) -> list[_Encoded]:
        """Put ``pending``; what is still to put (nothing once stored, the unstored part after a failure)."""
        if not pending:
            return []
        key = self.model.endpoint_id or self.model.model
        records = [OutRecord(data, partition_key=key) for data, _ in pending]
        try:
            try:
                self.streams.put_records(self.stream_path, records)
            except NotFound:  # first push before anyone created the stream
                self.streams.create(self.stream_path)
                self.streams.put_records(self.stream_path, records)
        except PutIncomplete as exc:  # some are on the stream: only the others are sent again
            self._pushed([p for p, placed in zip(pending, exc.placed, strict=True) if placed is not None])
            self._push_error(exc)
            return [p for p, placed in zip(pending, exc.placed, strict=True) if placed is None]
        except RecordTooLarge as exc:  # a limit the stream has and this client does not know: never retried
            with self._lock:
                self._counts["dropped"] += sum(count for _, count in pending)
                self._last_drop = str(exc)
            _log.error("tracking dropped %d record(s) the stream refuses: %s", len(pending), exc)
            return []
        except Exception as exc:  # the stream failing must never reach the model request
            self._push_error(exc)
            return pending
        self._pushed(pending)
        return []

    def _pushed(self, stored: list[_Encoded]) -> None:
        with self._lock:
            self._counts["pushed"] += sum(count for _, count in stored)
            self._counts["records"] += len(stored)

    def _push_error(self, exc: Exception) -> None:
        with self._lock:
            self._counts["push_errors"] += 1
            errors = self._counts["push_errors"]
            self._last_error = f"{type(exc).__name__}: {exc}"
        if errors & (errors - 1) == 0:
            _log.warning("tracking push to %s failed (%d failure(s) so far): %s",
                         self.stream_path, errors, self._last_error)


def _request(model: TrackedModel, entry: _Entry) -> dict[str, Any]:
    request_id, inputs, outputs, start_ns, latency_us, error, metrics = entry
    when = dt.datetime.fromtimestamp(start_ns / 1e9, dt.UTC).isoformat(sep=" ")
    request: dict[str, Any] = {"request": {"id": request_id, "inputs": _plain(inputs)}, "when": when}
    if error is not None:
        request["error"] = error
        return request
    request["resp"] = {"id": request_id, "model_name": model.model, "model_version": model.version,
                       "outputs": _plain(outputs)}
    request["microsec"] = latency_us
    if metrics:
        request["metrics"] = metrics
    return request


def _plain(value: Any) -> Any:
    """Arrays and frames as nested lists (everything else is serialised as is)."""
    to_list: Callable[[], Any] | None = getattr(value, "tolist", None)
    if to_list is not None:
        return to_list()
    values = getattr(value, "values", None)  # a pandas DataFrame
    if values is not None and hasattr(values, "tolist"):
        return values.tolist()
    return value
