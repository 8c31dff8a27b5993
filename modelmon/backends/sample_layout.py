"""The sample store's layout, shared by every backend: ``<endpoint>/hour=YYYYMMDDHH/<batch file>``.

:class:`PartitionedSampleStore` implements the ``SampleStore`` role on this layout once; each backend
fills in a few hooks that write, list, delete and read its files. Columns are numbers or text, and a
column holding objects or lists is JSON on disk and Python objects when read (:func:`nested_as_json`).
"""

from __future__ import annotations

import abc
import datetime as dt
import hashlib
import json
from collections.abc import Hashable, Iterable, Sequence
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from modelmon.core.paths import check_name

HOUR_MS = 3_600_000
HOUR_DIR_PREFIX = "hour="
#: Up to this many hours a read lists each hour's folder by name; beyond, it lists the endpoint's hour folders
#: first (one listing) so that hours without files cost nothing.
DIRECT_HOURS = 3
#: The first byte of a JSON value on disk (:func:`nested_as_json`): never a byte of UTF-8 text.
_JSON_MARK = b"\xff"

FileT = TypeVar("FileT", bound=Hashable)


def timestamps_ms(endpoint_id: str, column: pd.Series) -> pd.Series:
    """The `timestamp` column as int64 epoch milliseconds, or a ValueError naming the endpoint."""
    if pd.api.types.is_datetime64_any_dtype(column):
        if getattr(column.dt, "tz", None) is not None:
            column = column.dt.tz_convert("UTC").dt.tz_localize(None)
        return column.astype("datetime64[ms]").astype("int64")
    if pd.api.types.is_integer_dtype(column) and not column.isna().any():
        return column.astype("int64")
    raise ValueError(
        f"samples of {endpoint_id!r}: 'timestamp' must hold int epoch milliseconds or datetimes, "
        f"not {column.dtype}{' with missing values' if column.isna().any() else ''}"
    )


def batch_file_name(batch_id: str) -> str:
    """A file name for ``batch_id``: safe whatever the id holds, and the same for the same id."""
    return hashlib.sha1(batch_id.encode()).hexdigest()[:24] + ".parquet"


def hour_dir(hour: int) -> str:
    return HOUR_DIR_PREFIX + dt.datetime.fromtimestamp(hour * 3600, dt.UTC).strftime("%Y%m%d%H")


def parse_hour_dir(name: str) -> int | None:
    if not name.startswith(HOUR_DIR_PREFIX):
        return None
    try:
        moment = dt.datetime.strptime(name[len(HOUR_DIR_PREFIX):], "%Y%m%d%H").replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    return int(moment.timestamp()) // 3600


class PartitionedSampleStore(abc.ABC, Generic[FileT]):
    """The ``SampleStore`` role in this layout; a backend supplies how one file is written, found and read.

    Shared here: argument checks, splitting a batch by hour, removing copies of a re-appended batch left
    in hours its rows no longer fall in, and shaping what a read returns (an empty frame of the wanted
    columns, missing columns as None, rows in timestamp order).
    """

    def append(self, endpoint_id: str, df: pd.DataFrame, batch_id: str) -> None:
        check_name(endpoint_id, "endpoint id")
        if not isinstance(batch_id, str) or not batch_id:
            raise ValueError(f"samples of {endpoint_id!r}: batch_id must be a non-empty string, not {batch_id!r}")
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"samples of {endpoint_id!r}: expected a DataFrame, not {type(df).__name__}")
        if "timestamp" not in df.columns:
            raise ValueError(f"samples of {endpoint_id!r}: the frame has no 'timestamp' column (epoch ms)")
        table = sample_table(endpoint_id, df)
        hours = table.column("timestamp").to_numpy() // HOUR_MS
        name = batch_file_name(batch_id)
        written: set[FileT] = set()
        # most batches lie within one hour: the whole table, no row selection (a copy of every value)
        unique = hours[:1] if len(hours) and (hours == hours[0]).all() else np.unique(hours)
        for hour in unique:
            part = table if len(unique) == 1 else table.filter(pa.array(hours == hour))
            written.add(self._write_file(endpoint_id, hour_dir(int(hour)), name, part))
        # a re-append whose rows moved to other hours must not leave the old copy behind
        for stale in self._batch_files(endpoint_id, name):
            if stale not in written:
                self._delete_file(stale)

    def read(
        self, endpoint_id: str, start: int, end: int, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        check_name(endpoint_id, "endpoint id")
        wanted = None if columns is None else list(dict.fromkeys(["timestamp", *columns]))
        files = [] if end <= start else self._hour_files(endpoint_id, start // HOUR_MS, (end - 1) // HOUR_MS)
        return shape_read(self._read_files(endpoint_id, files, start, end, wanted), wanted)

    def files_between(self, endpoint_id: str, start: int, end: int) -> list[FileT]:
        """The files a read of ``[start, end)`` opens, in its order: for readers that scan many windows'
        files at once (the app runner's packed windows) and shape each window with :func:`shape_read`."""
        check_name(endpoint_id, "endpoint id")
        return [] if end <= start else self._hour_files(endpoint_id, start // HOUR_MS, (end - 1) // HOUR_MS)

    @abc.abstractmethod
    def _write_file(self, endpoint_id: str, hour_dir_name: str, name: str, table: pa.Table) -> FileT:
        """Write ``table`` as ``<endpoint>/<hour_dir_name>/<name>``, replacing it whole; return its handle."""

    @abc.abstractmethod
    def _batch_files(self, endpoint_id: str, name: str) -> Iterable[FileT]:
        """Every file called ``name`` in any hour of the endpoint (comparable to ``_write_file``'s handles)."""

    @abc.abstractmethod
    def _delete_file(self, file: FileT) -> None:
        """Remove one file; a file already gone is not an error."""

    @abc.abstractmethod
    def _hour_files(self, endpoint_id: str, first_hour: int, last_hour: int) -> list[FileT]:
        """The endpoint's sample files in hours ``first_hour..last_hour`` (inclusive)."""

    @abc.abstractmethod
    def _read_files(
        self, endpoint_id: str, files: list[FileT], start: int, end: int, wanted: list[str] | None
    ) -> pd.DataFrame | None:
        """Rows of ``files`` with ``start <= timestamp < end`` (at least the ``wanted`` columns present,
        or all); None when there is nothing to return. ``CorruptStore`` for an unreadable file."""


def shape_read(frame: pd.DataFrame | None, wanted: list[str] | None = None, *, plain: bool = False) -> pd.DataFrame:
    """What a read returns of the rows its files gave (``None``: no rows): nested values back from JSON, one
    type per column, the ``wanted`` columns (missing ones as None), rows in time order. ``plain``: every column
    is of a type that shaping leaves as it is, so it is skipped."""
    if frame is not None and not plain:
        frame = one_type_per_column(nested_from_json(frame))
    if frame is None:
        return pd.DataFrame({name: pd.Series(dtype="int64" if name == "timestamp" else "object")
                             for name in (wanted or ["timestamp"])})
    for missing in [] if wanted is None else [c for c in wanted if c not in frame.columns]:
        frame[missing] = None
    index = frame.index
    if not (isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1
            and frame["timestamp"].is_monotonic_increasing):  # else a stable sort would change nothing: no copy
        frame = frame.sort_values("timestamp", kind="stable", ignore_index=True)
    return frame if wanted is None else frame[wanted]


def sample_table(endpoint_id: str, df: pd.DataFrame) -> pa.Table:
    """The arrow table a batch of samples is stored as: ``timestamp`` as int64 epoch ms, object and list
    values as JSON (:func:`nested_as_json`), columns in order, no index.

    A frame of plain numpy columns (numbers, text, objects, datetimes) is converted column by column from
    its arrays: for a stream record's thousand rows that is a fraction of what copying the frame, setting
    its ``timestamp`` and going through ``Series`` objects cost (each ``Series`` built for a column costs
    about as much as converting the column). Any other frame (pandas' own types: nullable integers,
    categories, time zones) goes through pandas and ``Table.from_pandas``.
    """
    names = list(df.columns)
    arrays = [a for a in _column_arrays(df) if isinstance(a, np.ndarray)]
    plain = len(df) > 0 and len(arrays) == len(names) and all(isinstance(c, str) for c in names) and \
        len(set(names)) == len(names) and \
        all(a.dtype.kind in ("biufOM" if n == "timestamp" else "biufO") for n, a in zip(names, arrays, strict=True))
    if not plain:
        frame = nested_as_json(df.copy(deep=False))
        if not frame.empty:  # an empty batch still replaces what an earlier append of it wrote
            frame["timestamp"] = timestamps_ms(endpoint_id, frame["timestamp"])
        return arrow_table(frame)
    columns: dict[str, pa.Array] = {}
    for name, values in zip(names, arrays, strict=True):
        if name == "timestamp":
            values = values if values.dtype == np.int64 else \
                timestamps_ms(endpoint_id, pd.Series(values, copy=False)).to_numpy()
        elif values.dtype == np.dtype(object) and _holds_nested(values):
            values = np.array([_json_bytes(v) for v in values], dtype=object)
        columns[name] = pa.array(values, from_pandas=True)
    return pa.table(columns)


def _column_arrays(frame: pd.DataFrame) -> list[Any]:
    """The frame's columns as their arrays (numpy arrays, or pandas' extension arrays), no ``Series`` built.

    ``DataFrame._iter_column_arrays`` (pandas 1.3 to 2.x) walks the frame's blocks; where a pandas lacks it,
    each column's ``Series`` gives the same arrays, slower.
    """
    walk = getattr(frame, "_iter_column_arrays", None)
    if walk is not None:
        return list(walk())
    return [column.array if not isinstance(column.dtype, np.dtype) else column.to_numpy()
            for _, column in frame.items()]


def arrow_table(frame: pd.DataFrame) -> pa.Table:
    """``frame`` as an arrow table, columns in order, no index.

    Columns of plain numpy types (numbers, booleans, text and other objects) go straight from their arrays,
    which is several times cheaper for a stream record's few thousand rows than ``Table.from_pandas``; a
    frame with pandas' own types (nullable integers, categories, time zones) goes through it.
    """
    plain = all(isinstance(dtype, np.dtype) and dtype.kind in "biufO" for dtype in frame.dtypes)
    if not plain or not frame.columns.is_unique or not all(isinstance(c, str) for c in frame.columns):
        return pa.Table.from_pandas(frame, preserve_index=False)
    return pa.table({column: pa.array(values, from_pandas=True) for column, values in
                     zip(frame.columns, _column_arrays(frame), strict=True)})


def write_parquet(table: pa.Table, where: object) -> None:
    """``table`` as parquet to ``where`` (a path or a buffer), dictionary-encoding only its text columns
    (trying a dictionary for every float column first cost more than the rest of the write) but not
    ``request_id``, whose values are all different (a dictionary of them was a tenth of the write), with
    statistics for ``timestamp`` only: readers prune by time alone, and min/max of every feature column
    was a fifth of the write."""
    text = [f.name for f in table.schema if f.name != "request_id"
            and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))]
    stats = ["timestamp"] if "timestamp" in table.schema.names else False
    pq.write_table(table, where, use_dictionary=text, write_statistics=stats)


def parquet_bytes(table: pa.Table) -> pa.Buffer:
    """``table`` as the bytes of a parquet file (:func:`write_parquet`), to store with one write: encoding to
    memory then writing once cost two thirds of pyarrow writing the file itself in many small writes."""
    sink = pa.BufferOutputStream()
    write_parquet(table, sink)
    return sink.getvalue()


def nested_as_json(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each column holding an object or a list (an LLM's token usage) as JSON bytes.

    Parquet could hold such values as structs, as MLRun's stream writes them, but a struct column needs
    one shape across rows and files (``{}`` or a key holding a number in one row and text in another
    cannot be written). JSON keeps any value as sent. It is written as bytes (a binary column) starting
    with ``0xFF``, a byte no UTF-8 text holds, so :func:`nested_from_json` tells it from text even where a
    reader promoted another file's text column to binary: a text value that merely looks like JSON stays
    text. The column's other values (numbers, text) are JSON too.
    """
    nested = [j for j, dtype in enumerate(frame.dtypes)
              if dtype == np.dtype(object) and _holds_nested(frame.iloc[:, j])]
    if not nested:
        return frame
    frame = frame.copy(deep=False)
    for j in nested:
        frame.isetitem(j, frame.iloc[:, j].map(_json_bytes))  # type: ignore[arg-type]
    return frame


def nested_from_json(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the values :func:`nested_as_json` wrote back as the objects, lists, numbers and text
    they were (a column may hold JSON in some files and plain values in others)."""
    for j in [j for j, dtype in enumerate(frame.dtypes) if dtype == np.dtype(object)]:
        column = frame.iloc[:, j]
        if pd.api.types.infer_dtype(column, skipna=True) in ("bytes", "mixed"):  # a cheap test first
            frame.isetitem(j, column.map(_from_bytes))  # type: ignore[arg-type]
    return frame


def _from_bytes(value: object) -> object:
    if not isinstance(value, bytes):
        return value
    if value[:1] == _JSON_MARK:
        return orjson.loads(value[1:])
    return value.decode("utf-8", errors="replace")  # text another file wrote, promoted to binary on read


def _is_nested(value: object) -> bool:
    return isinstance(value, dict | list)


def _holds_nested(column: pd.Series | npt.NDArray[Any]) -> bool:
    """Whether ``column`` holds an object or a list (pandas infers text and numbers alone in C first)."""
    return pd.api.types.infer_dtype(column, skipna=True) in ("mixed", "mixed-integer") and \
        any(map(_is_nested, column))


def _json_bytes(value: object) -> bytes | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    try:
        return _JSON_MARK + orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:  # an integer beyond 64 bits, an object JSON has no form for: as text
        return _JSON_MARK + json.dumps(value, default=str).encode("utf-8")


def one_type_per_column(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each column of one type, where its files disagreed (numbers in some, text in others).

    The stream function keeps a feature's type since feature types are stored per endpoint; files
    written before could hold ``"hello"`` in a numeric column, or numbers in a text one. Such a column
    becomes what most of its values are: numbers (text that is no number reads as missing) or text
    (numbers as their text), so a read never fails, nor hands an app a column of mixed types.
    """
    # pandas-stubs type isetitem's value without Series, which pandas documents ("arraylike") and accepts.
    for j in [j for j, dtype in enumerate(frame.dtypes) if dtype == np.dtype(object)]:
        column = frame.iloc[:, j]
        kind = pd.api.types.infer_dtype(column, skipna=True)
        if kind in ("mixed", "mixed-integer") and column.map(_is_nested).any():  # kept as they are
            continue
        if kind in ("integer", "floating", "mixed-integer-float", "decimal"):
            frame.isetitem(j, pd.to_numeric(column))  # type: ignore[arg-type]
        elif kind in ("mixed", "mixed-integer"):
            is_text = column.map(lambda v: isinstance(v, str))
            numbers = pd.to_numeric(column.where(~is_text), errors="coerce")
            if numbers.notna().sum() >= is_text.sum():
                frame.isetitem(j, numbers)  # type: ignore[arg-type]
            else:
                frame.isetitem(j, column.map(_as_text))  # type: ignore[arg-type]
    return frame


def _as_text(value: object) -> str | None:
    if isinstance(value, str) or value is None:
        return value
    return None if isinstance(value, float) and np.isnan(value) else str(value)
