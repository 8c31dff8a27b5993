"""A v3io-frames gRPC server on 127.0.0.1 built on the stubs shipped in ``v3io_frames`` (``pb.Frames``).

Implements ``Version``, ``Create``, ``Write`` (client streaming; first-write-wins per series, as
v3io-tsdb: see ``frames_server.tsdb``), ``Read`` (server streaming, raw or ``step``/``aggregators``) and
``Delete`` for the ``tsdb`` backend, and ``Read`` for ``kv`` over the V3IO test server's items when its
store is attached (:attr:`FramesTestServer.kv_store`, as ``v3io_server.stack`` does; ``frames_server.kv``);
errors are gRPC status codes as framesd sends them
(NOT_FOUND for a missing table, ALREADY_EXISTS, INVALID_ARGUMENT, UNAUTHENTICATED).
``fail_next(n)`` answers the next ``n`` calls with UNAVAILABLE.
"""

from __future__ import annotations

import threading
import time
from concurrent import futures
from typing import Any

import grpc
import v3io_frames
from v3io_frames import frames_pb2 as fpb
from v3io_frames import frames_pb2_grpc as fgrpc
from v3io_server.expressions import ExpressionError, parse_condition
from v3io_server.store import Store

from frames_server import codec
from frames_server.kv import KVReadError, frames_filter, read_kv
from frames_server.tsdb import Table, duration_ms, time_ms


class _Abort(Exception):
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code


class _Servicer(fgrpc.FramesServicer):
    def __init__(self, owner: FramesTestServer) -> None:
        self.owner = owner

    # every call goes through here: auth, fault injection, one lock, error → status
    def _run(self, context: grpc.ServicerContext, session: fpb.Session | None, fn: Any, *args: Any) -> Any:
        owner = self.owner
        with owner.lock:
            owner.calls += 1
            if owner.failures:
                owner.failures -= 1
                context.abort(grpc.StatusCode.UNAVAILABLE, "framesd is restarting")
            if session is not None and owner.access_key is not None and session.token != owner.access_key:
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "bad or missing access key")
            try:
                return fn(*args)
            except _Abort as exc:
                context.abort(exc.code, str(exc))
            except (ValueError, ExpressionError) as exc:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))

    def Version(self, request: fpb.VersionRequest, context: grpc.ServicerContext) -> fpb.VersionResponse:
        return fpb.VersionResponse(version=self.owner.version)

    def Create(self, request: fpb.CreateRequest, context: grpc.ServicerContext) -> fpb.CreateResponse:
        return self._run(context, request.session, self._create, request)

    def _create(self, request: fpb.CreateRequest) -> fpb.CreateResponse:
        key = self._key(request.backend, request.session, request.table)
        if not request.rate:
            raise ValueError("tsdb create: rate is required (e.g. '1/s')")
        if key in self.owner.tables:
            if request.if_exists == fpb.FAIL:
                raise _Abort(grpc.StatusCode.ALREADY_EXISTS, f"table {request.table} already exists")
        else:
            self.owner.tables[key] = Table(rate=request.rate, aggregates=request.aggregates)
        return fpb.CreateResponse()

    def Write(self, request_iterator: Any, context: grpc.ServicerContext) -> fpb.WriteRespose:
        messages = list(request_iterator)  # the whole stream arrives before anything is applied
        if not messages or not messages[0].HasField("request"):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first message must be the write request")
        head = messages[0].request
        return self._run(context, head.session, self._write, head, [m.frame for m in messages[1:]])

    def _write(self, head: fpb.InitialWriteRequest, frames: list[fpb.Frame]) -> fpb.WriteRespose:
        """Rows are applied in the order they came; late samples are dropped silently (see ``tsdb.Table``).

        framesd's answer counts the frames and rows it received, dropped ones included
        (``grpc/server.go`` ``Server.Write``), so a writer cannot tell that a sample was refused.
        """
        table = self._table(head.backend, head.session, head.table)
        received = 0
        for frame in frames:
            rows, index_names = codec.frame_rows(frame)
            times = [c.name for c in frame.indices if c.dtype == fpb.TIME] or ["time"]
            time_name = times[0]
            labels = [n for n in index_names if n != time_name]
            labels += [c.name for c in frame.columns if c.kind == fpb.Column.LABEL] + list(frame.labels)
            if len(frame.indices) == 1 and len(rows) > 1 and (rows[0].get(time_name) or 0) > (
                    rows[-1].get(time_name) or 0):  # framesd's tsdbAppender.Add (backends/tsdb/writer.go)
                raise ValueError("time column is out of order (need to be sorted by ascending time)")
            for row in rows:
                if row.get(time_name) is None:
                    raise ValueError(f"tsdb write: a row has no {time_name!r}")
                metrics = {k: v for k, v in row.items() if k != time_name and k not in labels}
                bad = [k for k, v in metrics.items() if v is not None and not isinstance(v, int | float | str)]
                if bad:  # booleans are numbers here, as framesd writes them (1.0/0.0)
                    raise ValueError(f"tsdb write: metric(s) {bad} are neither numbers nor text")
                table.add(int(row[time_name]), {k: str(row[k]) for k in labels}, metrics)
            received += len(rows)
        return fpb.WriteRespose(frames=len(frames), rows=received)

    def Read(self, request: fpb.ReadRequest, context: grpc.ServicerContext) -> Any:
        frames = self._run(context, request.session, self._read, request)
        with self.owner.lock:
            stall, self.owner.stalls = bool(self.owner.stalls), max(0, self.owner.stalls - 1)
        if stall:  # a framesd that stops answering without closing the stream (until the client gives up)
            while context.is_active():
                time.sleep(0.05)
            return
        yield from frames

    def _read(self, request: fpb.ReadRequest) -> list[fpb.Frame]:
        if request.backend == "kv":
            return self._read_kv(request)
        table = self._table(request.backend, request.session, request.table)
        now = int(time.time() * 1000)
        start = time_ms(request.start or "0", now)
        end = time_ms(request.end or "now", now)
        aggregators = [a.strip() for a in request.aggregators.split(",") if a.strip()]
        step = duration_ms(request.step) if request.step else None
        keep = parse_condition(frames_filter(request.filter))
        series = table.query(start, end, keep, list(request.columns), step, aggregators)
        frames = []
        for labels, times, values in series:
            times_ns = [t * 1_000_000 for t in times]
            columns = [codec.string_column(name, [v if isinstance(v, str) else "" for v in column])
                       if table.is_text(labels, name) else codec.float_column(name, column)
                       for name, column in values.items()]
            nulls = [fpb.NullValuesMap(nullColumns={name: True for name, column in values.items()
                                                    if table.is_text(labels, name) and column[row] is None})
                     for row in range(len(times))]
            indices = [codec.time_column("time", times_ns)]
            if request.multi_index:
                indices += [codec.string_column(name, [value] * len(times)) for name, value in labels]
            else:
                columns += [codec.label_column(name, value, len(times)) for name, value in labels]
            frames.append(fpb.Frame(columns=columns, indices=indices,
                                    null_values=nulls if any(n.nullColumns for n in nulls) else []))
        return frames

    def _read_kv(self, request: fpb.ReadRequest) -> list[fpb.Frame]:
        """framesd's KV reader over the V3IO test server's items (``frames_server.kv``)."""
        store = self.owner.kv_store
        if store is None:
            raise _Abort(grpc.StatusCode.UNIMPLEMENTED, "no V3IO store attached: the kv backend is not served")
        if not request.session.container or not request.table:
            raise ValueError("container and table are required")
        with store.lock:
            try:
                return read_kv(store, request.session.container, request.table, list(request.columns),
                               request.filter, request.reset_index)
            except KVReadError as exc:
                raise _Abort(grpc.StatusCode.UNKNOWN, str(exc)) from None

    def Delete(self, request: fpb.DeleteRequest, context: grpc.ServicerContext) -> fpb.DeleteResponse:
        return self._run(context, request.session, self._delete, request)

    def _delete(self, request: fpb.DeleteRequest) -> fpb.DeleteResponse:
        key = self._key(request.backend, request.session, request.table)
        if key not in self.owner.tables:
            if request.if_missing == fpb.FAIL:
                raise _Abort(grpc.StatusCode.NOT_FOUND, f"table {request.table} does not exist")
            return fpb.DeleteResponse()
        del self.owner.tables[key]
        return fpb.DeleteResponse()

    def _key(self, backend: str, session: fpb.Session, table: str) -> str:
        if backend != "tsdb":
            raise _Abort(grpc.StatusCode.UNIMPLEMENTED, f"backend {backend!r} is not served here (only tsdb)")
        if not session.container or not table:
            raise ValueError("container and table are required")
        return f"{session.container}/{table.strip('/')}"

    def _table(self, backend: str, session: fpb.Session, table: str) -> Table:
        found = self.owner.tables.get(self._key(backend, session, table))
        if found is None:
            raise _Abort(grpc.StatusCode.NOT_FOUND, f"No TSDB schema file found for table {table}")
        return found


class FramesTestServer:
    """framesd on 127.0.0.1; tables live in this object and survive :meth:`restart`."""

    def __init__(self, access_key: str | None = None, port: int = 0) -> None:
        self.access_key = access_key
        self.version = v3io_frames.__version__  # the client warns when major.minor differ
        self.lock = threading.RLock()
        self.tables: dict[str, Table] = {}
        #: The V3IO test server's store, whose items the ``kv`` backend reads (``None``: kv not served).
        self.kv_store: Store | None = None
        self.failures = 0
        self.stalls = 0
        self.calls = 0
        self._port = port
        self._server: grpc.Server | None = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def address(self) -> str:
        return f"grpc://127.0.0.1:{self._port}"

    def start(self) -> FramesTestServer:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        fgrpc.add_FramesServicer_to_server(_Servicer(self), server)
        self._port = server.add_insecure_port(f"127.0.0.1:{self._port}")
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=None).wait()
            self._server = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def fail_next(self, n: int) -> None:
        with self.lock:
            self.failures += n

    def stall_next_reads(self, n: int) -> None:
        """The next ``n`` reads never answer, holding their stream open until the client cancels it."""
        with self.lock:
            self.stalls += n

    def __enter__(self) -> FramesTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
