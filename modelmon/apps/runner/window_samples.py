"""The samples of many windows read in one pass over their parquet files, each window's frame as a read of it alone.

A packed record hands an app function a hundred windows; reading each window's samples alone cost about 2 ms
of the 4 an app spent per window at 1,000 endpoints (a dataset, a scan and a pandas frame per endpoint, and
the Python around them). Here each window's files (only those whose times meet it) are read with
``pyarrow.parquet`` and brought to the window's unified schema, the windows sharing a schema converted to
pandas at once, and only the per-endpoint frame is cut apart.

What a window gets is what ``SampleStore.read(endpoint_id, start, end)`` returns: the same files in the same
order, the same unified schema, then the store's own shaping (``nested_from_json``, ``one_type_per_column``,
stable sort by time) per endpoint.

The files come from the local store (``files_between``, the files its own read would open) and each window is
shaped by the store's :func:`~modelmon.backends.sample_layout.shape_read`. Any other store, an endpoint whose
files do not unify, or any failure of the batched pass falls back to the store's own read of that window, so
its errors (an outage, a corrupt file) are raised for that window as before.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from modelmon.apps.runner.sample_files import SampleFiles
from modelmon.backends.base import SampleStore
from modelmon.backends.local.samples import LocalSampleStore
from modelmon.backends.sample_layout import shape_read

log = logging.getLogger(__name__)

#: Parquet bytes at most read ahead in one pass: windows are read in runs up to this size, so a pack of large
#: windows holds a few of them in memory at a time, not a hundred.
READ_AHEAD_BYTES = 16 * 2**20

#: Files at most kept open from reading their footers to reading their rows in one pass (each holds a descriptor).
HELD_OPEN = 256

#: (endpoint id, start ms, end ms) of one window's samples.
WindowKey = tuple[str, int, int]


class WindowSamples:
    """Samples of the windows of one packed record, read in passes as the app asks for them.

    ``read(key)`` of the first window not read yet reads it together with the windows after it, up to
    :data:`READ_AHEAD_BYTES`; a frame is handed out once (the app's context keeps it) and then dropped. ``files``
    is the function's knowledge of the sample files (:class:`~modelmon.apps.runner.sample_files.SampleFiles`).
    """

    def __init__(self, store: SampleStore, keys: Sequence[WindowKey], files: SampleFiles | None = None) -> None:
        self._store = store
        self._files = files if files is not None else SampleFiles()
        self._pending = list(dict.fromkeys(keys))  # in the pack's order, each window once
        self._frames: dict[WindowKey, pd.DataFrame] = {}
        self._held = 0  # files kept open in this pass
        self.passes = 0  #: batched passes so far (tests see what was read together)

    def read(self, key: WindowKey) -> pd.DataFrame:
        """The samples of window ``key``, as ``store.read(*key)`` returns them."""
        frame = self._frames.pop(key, None)
        if frame is not None:
            return frame
        if key in self._pending and isinstance(self._store, LocalSampleStore):
            self._read_ahead(self._store, key)
            frame = self._frames.pop(key, None)
            if frame is not None:
                return frame
        return self._store.read(*key)

    def _read_ahead(self, store: LocalSampleStore, key: WindowKey) -> None:
        at = self._pending.index(key)
        run: dict[WindowKey, _Plan] = {}
        alone: set[WindowKey] = {key}
        size = 0
        self._held = 0
        for pending in self._pending[at:]:
            plan = self._plan(store, pending)
            if plan is None:
                alone.add(pending)  # read alone when asked for (the store says why it cannot)
                continue
            if run and size + plan.size > READ_AHEAD_BYTES:
                break
            run[pending] = plan
            size += plan.size
        self._pending = [k for k in self._pending if k not in run and k not in alone]
        self.passes += 1
        try:
            self._frames.update(read_windows(run))
        except Exception as exc:  # anything: each window is read alone, and its own read reports its errors
            log.warning("batched read of %d windows failed, reading them one by one: %s", len(run), exc)

    def _plan(self, store: LocalSampleStore, key: WindowKey) -> _Plan | None:
        """The window's schema (unified over every file of its hours, as the store's read unifies it) and the
        files whose times meet it; ``None`` when the store must read it alone."""
        endpoint_id, start, end = key
        if end <= start:
            return None
        try:
            files = store.files_between(endpoint_id, start, end)
            if not files:
                return _Plan(None, [], 0, inside=True)
            facts = self._files.facts
            schema: pa.Schema | None = None
            schemas: list[pa.Schema] = []
            kept: _Files = []
            size, inside = 0, True
            # one pass over the hour's files (sixty by its end): every schema, and the files that meet the window
            for file in files:
                known, opened = facts(file)
                if known.schema is not schema:
                    schema = known.schema
                    schemas.append(schema)
                if not known.meets(start, end):
                    continue
                size += known.size
                inside = inside and known.lies_in(start, end)
                if opened is not None and self._held < HELD_OPEN:
                    self._held += 1
                    kept.append((file, opened))
                else:  # opened again when read (the others' handles close as they are dropped)
                    kept.append((file, None))
            unified = schemas[0] if len(schemas) == 1 or all(s is schemas[0] for s in schemas) else \
                pa.unify_schemas(schemas, promote_options="permissive")
        except (OSError, ValueError, pa.ArrowException):  # a file gone or unreadable, schemas that do not unify, an
            return None  # endpoint id the store refuses: read alone when asked for, the store's error for it alone
        return _Plan(unified, kept, size, inside)


#: A window's files to read: path, and the file opened when its footer was read in this pass (or ``None``).
_Files = list[tuple[str, pq.ParquetFile | None]]


@dataclasses.dataclass(frozen=True)
class _Plan:
    """How one window is read: its unified ``schema`` (``None``: it has no files) and the ``files`` to scan, each
    with the file opened to read its footer in this pass, if one was; ``inside``: every row of those files lies in
    the window (by their statistics), so none is filtered out."""

    schema: pa.Schema | None
    files: _Files
    size: int
    inside: bool


def read_windows(windows: dict[WindowKey, _Plan]) -> dict[WindowKey, pd.DataFrame]:
    """Each window's frame by its plan.

    One scan per schema and per occurrence of an endpoint (its second window in the pack goes to a second scan):
    a scan's batches are told apart by their file, which two windows of one endpoint may share.
    """
    out: dict[WindowKey, pd.DataFrame] = {}
    groups: dict[tuple[bytes, int], tuple[pa.Schema, list[tuple[WindowKey, _Plan]]]] = {}
    seen: dict[str, int] = {}  # endpoint id -> its windows so far
    for key, plan in windows.items():
        if plan.schema is None:
            out[key] = shape_read(None)
            continue
        occurrence = seen[key[0]] = seen.get(key[0], -1) + 1
        group = groups.setdefault((plan.schema.serialize().to_pybytes(), occurrence), (plan.schema, []))
        group[1].append((key, plan))
    for schema, members in groups.values():
        out.update(_scan(schema, members))
    return out


def _scan(schema: pa.Schema, members: list[tuple[WindowKey, _Plan]]) -> dict[WindowKey, pd.DataFrame]:
    """Every file of ``members`` (windows sharing ``schema``; each with its own time range) read, each window's rows
    as one table of ``schema``, then converted to pandas at once when the types allow."""
    tables = [_window_table(schema, key, plan) for key, plan in members]
    plain = all(_reads_as_is(f.type) for f in schema)
    whole = pa.concat_tables(tables) if tables else None
    if whole is None or not _splits_exactly(whole):
        return {key: shape_read(table.to_pandas(), plain=plain)
                for (key, _), table in zip(members, tables, strict=True)}
    frame = whole.to_pandas()  # one conversion, cut into the windows' frames below
    out = {}
    at = 0
    for (key, _), table in zip(members, tables, strict=True):
        part = frame.iloc[at:at + table.num_rows].copy()
        part.index = pd.RangeIndex(table.num_rows)
        at += table.num_rows
        out[key] = shape_read(part, plain=plain)
    return out


def _window_table(schema: pa.Schema, key: WindowKey, plan: _Plan) -> pa.Table:
    """The rows of the plan's files in the window ``key``'s time range, in file order, as a table of ``schema``.

    Each file is read whole with ``pyarrow.parquet`` (a window's file holds one tracked batch: a few rows; a file
    opened in this pass to read its footer is read from that handle, without parsing the footer again) and
    brought to the window's unified schema (columns it lacks as nulls, types promoted as the dataset's scan
    promotes them): a dataset scan cost twice as much per small file as the read itself."""
    parts = [_conformed((opened or pq.ParquetFile(path)).read(use_threads=False), schema)
             for path, opened in plan.files]
    table = parts[0] if len(parts) == 1 else pa.concat_tables(parts) if parts else schema.empty_table()
    if plan.inside:  # a tracked batch within one window (the usual case): no row to filter out
        return table
    times = table.column("timestamp")
    return table.filter(pc.and_(pc.greater_equal(times, key[1]), pc.less(times, key[2])))


def _conformed(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with the columns of ``schema`` in its order and types (missing ones null)."""
    if table.schema.equals(schema):
        return table
    names = table.schema.names
    columns = [table.column(field.name).cast(field.type) if field.name in names
               else pa.nulls(table.num_rows, field.type) for field in schema]
    return pa.Table.from_arrays(columns, schema=schema)


def _splits_exactly(table: pa.Table) -> bool:
    """Whether the frame of ``table`` cut into row ranges gives each range the frame its own rows convert to: the
    pandas type of a column must not depend on which rows it holds (integers and booleans with gaps become floats
    and objects; a dictionary becomes categories of its own values)."""
    for field, column in zip(table.schema, table.columns, strict=True):
        kind = field.type
        if pa.types.is_dictionary(kind):
            return False
        if (pa.types.is_integer(kind) or pa.types.is_boolean(kind)) and column.null_count:
            return False
    return True


def _reads_as_is(kind: pa.DataType) -> bool:
    """Whether a column of arrow type ``kind`` is left as it is by the store's shaping (``nested_from_json`` and
    ``one_type_per_column`` change only object columns pandas infers as bytes, mixed, numbers or decimals): numbers
    and times become numpy columns, text and booleans with gaps objects inferred as ``string``/``boolean``/
    ``empty``, none of which they touch. Binary (the nested values), decimals, dates, lists and the rest are
    shaped as the store shapes them."""
    types = pa.types
    return bool(types.is_integer(kind) or types.is_floating(kind) or types.is_boolean(kind) or types.is_string(kind)
                or types.is_large_string(kind) or types.is_timestamp(kind) or types.is_null(kind))
