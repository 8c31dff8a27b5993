"""Endpoint samples as parquet: ``<root>/<endpoint_id>/hour=<YYYYMMDDHH>/<batch file>.parquet``.

A batch is split by the UTC hour of each row's ``timestamp``; each part goes to a file named after the
batch id, so appending the same batch again overwrites the same files. Files are written to a hidden
temp name and renamed, so readers (and a process killed mid-write) never see a partial file. A read of
``[start, end)`` lists the endpoint's hour directories once, opens only those that overlap the range and
pushes the time filter down to pyarrow.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from modelmon.backends.local.files import write_atomically
from modelmon.backends.sample_layout import (
    DIRECT_HOURS,
    HOUR_DIR_PREFIX,
    PartitionedSampleStore,
    hour_dir,
    parquet_bytes,
    parse_hour_dir,
)
from modelmon.core.errors import CorruptStore

#: Hour directories a store remembers having made (then it makes them again once: ``exist_ok``).
_KNOWN_DIRECTORIES = 4096


class LocalSampleStore(PartitionedSampleStore[str]):
    """The ``SampleStore`` role on a directory of parquet files, each named by its path as text (a ``Path`` per
    file cost more than the ``stat`` an app function makes of it per window)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = pathlib.Path(root)
        self._made: set[pathlib.Path] = set()  # hour directories this process created or found

    def close(self) -> None:
        """Nothing to release: every call opens and closes its own files."""

    def _write_file(self, endpoint_id: str, hour_dir_name: str, name: str, table: pa.Table) -> str:
        directory = self.root / endpoint_id / hour_dir_name
        data = parquet_bytes(table)
        if directory not in self._made:
            directory.mkdir(parents=True, exist_ok=True)
            if len(self._made) >= _KNOWN_DIRECTORIES:  # bounded: hours keep coming
                self._made.clear()
            self._made.add(directory)
        # no fsync: the rename makes it atomic for readers and for a killed process (durability across a
        # power loss is the file system's, as for every sample file)
        target = directory / name
        try:
            write_atomically(target, data, sync=False, make_parent=False)
        except FileNotFoundError:  # the directory was removed since (retention): make it again
            write_atomically(target, data, sync=False)
        return self._file(endpoint_id, hour_dir_name, name)

    def _file(self, endpoint_id: str, hour_dir_name: str, name: str) -> str:
        """A sample file's path as text, spelled the same wherever it is made: ``append`` tells the files it
        wrote from stale copies by comparing these."""
        return f"{self.root}/{endpoint_id}/{hour_dir_name}/{name}"

    def _batch_files(self, endpoint_id: str, name: str) -> Iterable[str]:
        """The hour directories listed once and each looked into for ``name``: ``Path.glob`` compiled a
        pattern for every batch's name (a tenth of a stream record's append)."""
        try:
            entries = os.listdir(self.root / endpoint_id)
        except FileNotFoundError:
            return []
        return [path for entry in entries
                if entry.startswith(HOUR_DIR_PREFIX) and os.path.lexists(path := self._file(endpoint_id, entry, name))]

    def _delete_file(self, file: str) -> None:
        pathlib.Path(file).unlink(missing_ok=True)

    def _hour_files(self, endpoint_id: str, first_hour: int, last_hour: int) -> list[str]:
        """A read of a few hours (an app's window) lists those hour folders by name (about as cheap as listing
        the endpoint's folder and parsing its names: what a window's read costs is a path and a ``stat`` per
        file of its hour). A longer span lists the endpoint's folder once, so that hours without samples cost
        nothing."""
        base = f"{self.root}/{endpoint_id}"
        if last_hour - first_hour < DIRECT_HOURS:
            folders = [hour_dir(hour) for hour in range(first_hour, last_hour + 1)]
        else:
            try:
                entries = os.listdir(base)
            except (FileNotFoundError, NotADirectoryError):
                return []
            folders = sorted(entry for entry in entries
                             if (hour := parse_hour_dir(entry)) is not None and first_hour <= hour <= last_hour)
        files: list[str] = []
        for folder in folders:
            try:
                names = os.listdir(f"{base}/{folder}")
            except (FileNotFoundError, NotADirectoryError):
                continue
            files.extend(self._file(endpoint_id, folder, name) for name in sorted(names)
                         if name.endswith(".parquet") and not name.startswith("."))
        return files

    def _read_files(
        self, endpoint_id: str, files: list[str], start: int, end: int, wanted: list[str] | None
    ) -> pd.DataFrame | None:
        """One pyarrow dataset over every file, with the time filter pushed down."""
        if not files:
            return None
        try:
            schema = pa.unify_schemas([_schema(file) for file in files], promote_options="permissive")
        except (pa.ArrowTypeError, pa.ArrowInvalid):  # a column is numbers in some files, text in others
            return self._read_one_by_one(endpoint_id, files, start, end, wanted)
        try:
            dataset = pads.dataset(files, schema=schema, format="parquet")
            present = None if wanted is None else [c for c in wanted if c in schema.names]
            field = pads.field("timestamp")
            table = dataset.to_table(columns=present, filter=(field >= start) & (field < end))
        except (pa.ArrowInvalid, OSError) as exc:
            raise CorruptStore(f"{self.root / endpoint_id}: unreadable sample file ({exc})") from exc
        frame: pd.DataFrame = table.to_pandas()
        return frame

    def _read_one_by_one(
        self, endpoint_id: str, files: list[str], start: int, end: int, wanted: list[str] | None
    ) -> pd.DataFrame | None:
        """Files whose schemas do not unify (written before feature types were kept), read apart and
        concatenated; :func:`~modelmon.backends.sample_layout.one_type_per_column` settles the types."""
        parts = []
        for file in files:
            present = None if wanted is None else [c for c in wanted if c in _schema(file).names]
            try:
                table = pq.read_table(file, columns=present,
                                      filters=[("timestamp", ">=", start), ("timestamp", "<", end)])
            except (pa.ArrowInvalid, OSError) as exc:
                raise CorruptStore(f"{self.root / endpoint_id}: unreadable sample file ({exc})") from exc
            if table.num_rows:
                parts.append(table.to_pandas())
        return pd.concat(parts, ignore_index=True) if parts else None

def _schema(file: str) -> pa.Schema:
    try:
        return pq.read_schema(file)
    except (pa.ArrowInvalid, OSError) as exc:
        raise CorruptStore(f"{file}: not a readable parquet file ({exc})") from exc
