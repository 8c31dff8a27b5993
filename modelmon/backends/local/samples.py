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
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from modelmon.backends.local.files import write_atomically
from modelmon.backends.sample_layout import (
    HOUR_DIR_PREFIX,
    HOUR_MS,
    batch_file_name,
    hour_dir,
    parse_hour_dir,
    timestamps_ms,
)
from modelmon.errors import CorruptStore
from modelmon.paths import check_name


class LocalSampleStore:
    """The ``SampleStore`` role on a directory of parquet files."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = pathlib.Path(root)

    def append(self, endpoint_id: str, df: pd.DataFrame, batch_id: str) -> None:
        check_name(endpoint_id, "endpoint id")
        if not isinstance(batch_id, str) or not batch_id:
            raise ValueError(f"samples of {endpoint_id!r}: batch_id must be a non-empty string, not {batch_id!r}")
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"samples of {endpoint_id!r}: expected a DataFrame, not {type(df).__name__}")
        if "timestamp" not in df.columns:
            raise ValueError(f"samples of {endpoint_id!r}: the frame has no 'timestamp' column (epoch ms)")
        frame = df.reset_index(drop=True)
        if not frame.empty:  # an empty batch still replaces what an earlier append of it wrote
            frame["timestamp"] = timestamps_ms(endpoint_id, frame["timestamp"])
        hours = frame["timestamp"].to_numpy().astype(np.int64) // HOUR_MS
        name = batch_file_name(batch_id)
        written: set[pathlib.Path] = set()
        for hour in np.unique(hours):
            part = frame[hours == hour]
            table = pa.Table.from_pandas(part, preserve_index=False)
            target = self.root / endpoint_id / hour_dir(int(hour)) / name
            write_atomically(target, writer=lambda temp, table=table: pq.write_table(table, temp))
            written.add(target)
        # a re-append whose rows moved to other hours must not leave the old copy behind
        for stale in (self.root / endpoint_id).glob(f"{HOUR_DIR_PREFIX}*/{name}"):
            if stale not in written:
                stale.unlink(missing_ok=True)

    def read(
        self, endpoint_id: str, start: int, end: int, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        check_name(endpoint_id, "endpoint id")
        wanted = None if columns is None else list(dict.fromkeys(["timestamp", *columns]))
        files = self._files(endpoint_id, start, end)
        if not files:
            return pd.DataFrame({name: pd.Series(dtype="int64" if name == "timestamp" else "object")
                                 for name in (wanted or ["timestamp"])})
        schema = pa.unify_schemas([_schema(file) for file in files], promote_options="permissive")
        try:
            dataset = pads.dataset([str(f) for f in files], schema=schema, format="parquet")
            present = None if wanted is None else [c for c in wanted if c in schema.names]
            field = pads.field("timestamp")
            table = dataset.to_table(columns=present, filter=(field >= start) & (field < end))
        except (pa.ArrowInvalid, OSError) as exc:
            raise CorruptStore(f"{self.root / endpoint_id}: unreadable sample file ({exc})") from exc
        frame = table.to_pandas()
        for missing in [] if wanted is None else [c for c in wanted if c not in frame.columns]:
            frame[missing] = None
        frame = frame.sort_values("timestamp", kind="stable", ignore_index=True)
        return frame if wanted is None else frame[wanted]

    def close(self) -> None:
        """Nothing to release: every call opens and closes its own files."""

    def _files(self, endpoint_id: str, start: int, end: int) -> list[pathlib.Path]:
        base = self.root / endpoint_id
        if not base.is_dir() or end <= start:
            return []
        first, last = start // HOUR_MS, (end - 1) // HOUR_MS
        files = []
        for entry in sorted(os.listdir(base)):
            hour = parse_hour_dir(entry)
            if hour is not None and first <= hour <= last:
                files.extend(sorted(p for p in (base / entry).glob("*.parquet") if not p.name.startswith(".")))
        return files


def _schema(file: pathlib.Path) -> pa.Schema:
    try:
        return pq.read_schema(file)
    except (pa.ArrowInvalid, OSError) as exc:
        raise CorruptStore(f"{file}: not a readable parquet file ({exc})") from exc
