"""The TSDB role on V3IO TSDB tables through v3io-frames (gRPC, backend ``"tsdb"``).

Tables are created with a 1/s ingestion rate and hourly pre-aggregates (count, sum, avg, min, max,
last) so Grafana's frames datasource can query them cheaply. A write sends a DataFrame indexed by
``(time, *labels)``; a read asks for ``[start, end)`` (frames' ``end`` is inclusive, so ``end - 1``)
with ``multi_index=True`` and, for aggregates, ``step``/``aggregators``, aligned on ``start``.

V3IO TSDB is first-write-wins: a sample at or before the latest time of its series (label set and
column) is dropped silently (v3io-tsdb ``pkg/appender/store.go``, ``chunkStore.writeChunks``; framesd
never sets ``OverrideOld``). A write therefore sends each label set's rows in time order (a stable sort,
so of two rows at one time the first is kept): every row of one write after the series' latest time
is stored, whatever order the frame had.

Reads that find framesd unavailable, and writes that fail for any reason, are tried again with the web
API's backoff (:class:`~modelmon.backends.v3io.calls.V3ioCalls`): the frames client retries a streamed
``Write`` by re-sending its already consumed request stream, so a transient failure comes back as another
error. Writing again is safe: the samples a failed write did store are dropped the second time, and
since each series goes in time order, the rest are still after its latest time. A write still failing
after the retries is an outage (``BackendUnavailable``): the frame was checked before it was sent.

V3IO TSDB keeps labels as an unordered map; the order a table's labels were written in (which sets
the row order of reads) is kept beside the data, in the object ``<table>/.modelmon-labels.json``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import grpc
import pandas as pd
import v3io_frames

from modelmon.backends.base import AGGREGATORS
from modelmon.backends.v3io.calls import V3ioCalls, split_path
from modelmon.backends.v3io.expressions import check_attribute, literal
from modelmon.backends.v3io.objects import V3ioObjectStore
from modelmon.core.errors import BackendError, BackendUnavailable, NotFound

RATE = "1/s"
PRE_AGGREGATES = "count,sum,avg,min,max,last"
AGGREGATION_GRANULARITY = "1h"

ClientFactory = Callable[[str], Any]  # container -> v3io_frames client
#: How long one TSDB read may take before its client is dropped and the read retried (reads of a month of
#: a busy table take seconds; a stalled framesd never answers).
READ_DEADLINE_S = 20.0


def _translate(what: str, exc: Exception) -> Exception:
    """A frames error as a modelmon error: gRPC NOT_FOUND → NotFound, UNAVAILABLE → BackendUnavailable.

    CANCELLED is transient too: a framesd that stops cancels the calls it is serving (a streamed read
    ends CANCELLED, not UNAVAILABLE), and the same call succeeds once it is back.
    """
    cause = getattr(exc, "cause", None)
    code: grpc.StatusCode | None = None
    detail: str | None = str(exc)
    if isinstance(cause, grpc.RpcError) and hasattr(cause, "code"):
        code = cause.code()
        if code is not None and hasattr(cause, "details"):
            detail = cause.details()
    if code == grpc.StatusCode.NOT_FOUND:
        return NotFound(f"TSDB {what}: {detail}")
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED,
                grpc.StatusCode.CANCELLED):
        return BackendUnavailable(f"TSDB {what}: {detail}")
    return BackendError(f"TSDB {what}: {detail}")


def filter_expression(filters: Mapping[str, str | Sequence[str]] | None) -> str:
    """``{"a": "x", "b": ["y", "z"]}`` → ``a == 'x' AND (b == 'y' OR b == 'z')``."""
    parts = []
    for label, wanted in (filters or {}).items():
        check_attribute(label)
        values = [wanted] if isinstance(wanted, str) else list(wanted)
        if not values:
            return "false"
        alternatives = [f"{label} == {literal(label, str(v))}" for v in values]
        parts.append(alternatives[0] if len(alternatives) == 1 else "(" + " OR ".join(alternatives) + ")")
    return " AND ".join(parts)


class FramesTSDB:
    """The ``TSDB`` role; one frames client per V3IO container, created on first use."""

    def __init__(self, client_factory: ClientFactory, objects: V3ioObjectStore, calls: V3ioCalls | None = None,
                 *, read_deadline_s: float = READ_DEADLINE_S) -> None:
        self._factory = client_factory
        self._read_deadline_s = read_deadline_s
        self._objects = objects
        self._calls = calls or V3ioCalls()
        self._clients: dict[str, Any] = {}
        self._labels: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def _label_order(self, table: str, written: list[str] | None = None) -> list[str]:
        """The table's labels in the order they were written (recorded on first write)."""
        known = self._labels.get(table)
        if written is not None and known != written:
            self._objects.put_object(f"{table.rstrip('/')}/.modelmon-labels.json", json.dumps(written).encode())
            self._labels[table] = known = written
        if known is None:
            try:
                known = json.loads(self._objects.get_object(f"{table.rstrip('/')}/.modelmon-labels.json"))
            except NotFound:
                return []
            self._labels[table] = known
        return list(known)

    def _client(self, table: str) -> tuple[Any, str]:
        container, path = split_path(table)
        with self._lock:
            if container not in self._clients:
                try:
                    self._clients[container] = self._factory(container)
                except v3io_frames.Error as exc:
                    raise _translate("connect", exc) from exc
            return self._clients[container], path

    def create_table(self, table: str) -> None:
        client, path = self._client(table)
        try:
            client.create("tsdb", path, rate=RATE, aggregates=PRE_AGGREGATES,
                          aggregation_granularity=AGGREGATION_GRANULARITY, if_exists=v3io_frames.IGNORE)
        except v3io_frames.Error as exc:
            raise _translate(f"create {table}", exc) from exc

    def write(self, table: str, df: pd.DataFrame, labels: Sequence[str]) -> None:
        labels = [check_attribute(label) for label in labels]
        missing = [c for c in ("time", *labels) if c not in df.columns]
        if missing:
            raise ValueError(f"TSDB write to {table!r}: missing column(s) {', '.join(missing)}")
        if df.empty:
            return
        if not pd.api.types.is_integer_dtype(df["time"]):
            raise ValueError(f"TSDB write to {table!r}: 'time' must be int epoch ms, not {df['time'].dtype}")
        values = [c for c in df.columns if c not in ("time", *labels)]
        frame = pd.DataFrame({name: _values(df[name]) for name in values})
        frame["time"] = pd.to_datetime(df["time"].to_numpy(), unit="ms", utc=True)
        for label in labels:
            frame[label] = df[label].astype(str).to_numpy()
        frame = frame.sort_values([*labels, "time"], kind="stable").set_index(["time", *labels])
        client, path = self._client(table)
        self._label_order(table, labels)
        try:
            self._retried(f"write {table}", lambda: client.write("tsdb", path, frame), lambda _: True)
        except BackendError as exc:
            if isinstance(exc, BackendUnavailable | NotFound):
                raise
            # the frame was checked above, so what still fails is framesd: after an outage the client's
            # own retry re-sends the consumed request stream and the error names that, not the outage
            raise BackendUnavailable(f"{exc} (still failing after retries: taken as an outage)") from exc

    def read(
        self,
        table: str,
        start: int,
        end: int,
        *,
        filters: Mapping[str, str | Sequence[str]] | None = None,
        columns: Sequence[str] | None = None,
        step: int | None = None,
        aggregators: Sequence[str] = (),
    ) -> pd.DataFrame:
        bad = [a for a in aggregators if a not in AGGREGATORS]
        if bad:
            raise ValueError(f"TSDB read of {table!r}: unknown aggregator(s) {bad}; use {', '.join(AGGREGATORS)}")
        if step is not None and (not isinstance(step, int) or step < 1):
            raise ValueError(f"TSDB read of {table!r}: step must be a positive number of ms, not {step!r}")
        if end <= start:
            return pd.DataFrame({"time": pd.Series(dtype="int64")})
        kwargs: dict[str, Any] = {"start": str(start), "end": str(end - 1), "multi_index": True}
        if aggregators:
            kwargs["aggregators"] = ",".join(aggregators)
            kwargs["step"] = f"{step or end - start}ms"
        def read(client: Any, path: str) -> Any:
            return client.read("tsdb", path, columns=list(columns) if columns else None,
                               filter=filter_expression(filters), **kwargs)

        raw = self._retried(f"read {table}", lambda: self._bounded(f"read {table}", table, read),
                            lambda error: isinstance(error, BackendUnavailable))
        return _to_rows(raw, self._label_order(table))

    def _bounded(self, what: str, table: str, call: Callable[[Any, str], Any]) -> Any:
        """``call(client, path)`` within the read deadline.

        The frames client sets no deadline on its gRPC calls, so a framesd that stops answering a streamed
        read without closing the connection would block the caller forever (seen under load in the fault
        tests). Past the deadline the client's channel is closed, which cancels the call and frees the thread
        running it, the next call gets a fresh client, and the caller sees ``BackendUnavailable`` (retried).
        """
        client, path = self._client(table)
        outcome: dict[str, Any] = {}
        finished = threading.Event()

        def run() -> None:
            try:
                outcome["value"] = call(client, path)
            except BaseException as exc:  # handed to the caller's thread below
                outcome["error"] = exc
            finally:
                finished.set()

        threading.Thread(target=run, name="frames-call", daemon=True).start()
        if not finished.wait(self._read_deadline_s):
            self._drop(client)
            raise BackendUnavailable(f"TSDB {what}: no answer in {self._read_deadline_s:g}s")
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    def _drop(self, client: Any) -> None:
        """Forget ``client`` (the next call makes a new one) and close its channel (cancelling its calls)."""
        with self._lock:
            self._clients = {k: c for k, c in self._clients.items() if c is not client}
        _close_channel(client)

    def _retried(self, what: str, call: Callable[[], Any], retry: Callable[[Exception], bool]) -> Any:
        """``call()``; a frames error that ``retry`` accepts is tried again with backoff, then raised translated."""
        attempt = 0
        while True:
            try:
                return call()
            except (v3io_frames.Error, BackendUnavailable) as exc:
                error = _translate(what, exc) if isinstance(exc, v3io_frames.Error) else exc
                if isinstance(error, NotFound) or not retry(error) or not self._calls.sleep_before_retry(attempt):
                    raise error from exc
                attempt += 1

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            _close_channel(client)


def _values(column: pd.Series) -> pd.Series:
    """A value column as sent: numbers as float64; a column of text as text (V3IO TSDB keeps it as a string
    metric, without aggregates: MLRun's ``start_infer_time``)."""
    if column.dtype == object and len(column) and all(isinstance(v, str) for v in column):
        return column
    return pd.to_numeric(column).astype("float64")


def _close_channel(client: Any) -> None:
    """Close a frames client's gRPC channel (the client has no close of its own)."""
    channel = getattr(client, "_channel", None)
    if channel is not None:
        channel.close()


def _to_rows(raw: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Frames' (time, labels...)-indexed frame → columns ``time`` (int ms), labels (text), values."""
    if raw.empty:
        return pd.DataFrame({"time": pd.Series(dtype="int64")})
    frame = raw.reset_index()
    for name in frame.columns:
        if isinstance(frame[name].dtype, pd.CategoricalDtype):
            frame[name] = frame[name].astype(str)
    times = frame["time"]
    if pd.api.types.is_datetime64_any_dtype(times):
        frame["time"] = times.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ms]").astype("int64") \
            if getattr(times.dt, "tz", None) is not None else times.astype("datetime64[ms]").astype("int64")
    found = [c for c in frame.columns if c != "time" and frame[c].dtype == object]
    labels = [c for c in order if c in found] + sorted(c for c in found if c not in order)
    for label in labels:  # a series written before the table had this label: read as empty, as on local
        frame[label] = frame[label].fillna("")
    values = [c for c in frame.columns if c != "time" and c not in labels]
    frame = frame[["time", *labels, *values]]
    frame = frame.dropna(subset=values, how="all") if values else frame
    return frame.sort_values([*labels, "time"], kind="stable", ignore_index=True)
