"""The SampleStore role on V3IO objects, in the local backend's layout.

``<paths.samples_prefix(endpoint_id)>/hour=<YYYYMMDDHH>/<sha1(batch_id)[:24]>.parquet``: a batch is split
by the UTC hour of its rows and each part is one object named after the batch, so appending a batch
again overwrites the same objects (an object PUT is atomic for readers). The file naming and hour
partitioning are shared with :mod:`modelmon.backends.local.samples`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from modelmon.backends.sample_layout import HOUR_MS, batch_file_name, hour_dir, parse_hour_dir, timestamps_ms
from modelmon.backends.v3io.objects import V3ioObjectStore
from modelmon.errors import CorruptStore
from modelmon.paths import ProjectPaths, check_name


class V3ioSampleStore:
    """Parquet objects per endpoint and hour, read back with the time filter applied per file."""

    def __init__(self, objects: V3ioObjectStore, paths: ProjectPaths) -> None:
        self._objects = objects
        self._paths = paths

    def append(self, endpoint_id: str, df: pd.DataFrame, batch_id: str) -> None:
        check_name(endpoint_id, "endpoint id")
        if not isinstance(batch_id, str) or not batch_id:
            raise ValueError(f"samples of {endpoint_id!r}: batch_id must be a non-empty string, not {batch_id!r}")
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"samples of {endpoint_id!r}: expected a DataFrame, not {type(df).__name__}")
        if "timestamp" not in df.columns:
            raise ValueError(f"samples of {endpoint_id!r}: the frame has no 'timestamp' column (epoch ms)")
        frame = df.reset_index(drop=True)
        if not frame.empty:
            frame["timestamp"] = timestamps_ms(endpoint_id, frame["timestamp"])
        hours = frame["timestamp"].to_numpy().astype(np.int64) // HOUR_MS
        root = self._paths.samples_prefix(endpoint_id)
        name = batch_file_name(batch_id)
        written = set()
        for hour in np.unique(hours):
            buffer = io.BytesIO()
            pq.write_table(pa.Table.from_pandas(frame[hours == hour], preserve_index=False), buffer)
            target = f"{root}/{hour_dir(int(hour))}/{name}"
            self._objects.put_object(target, buffer.getvalue())
            written.add(target)
        for stale in self._objects.list_objects(root + "/"):  # rows of a re-append may have moved hours
            if stale.endswith("/" + name) and stale not in written:
                self._objects.delete_object(stale)

    def read(self, endpoint_id: str, start: int, end: int, columns: Sequence[str] | None = None) -> pd.DataFrame:
        check_name(endpoint_id, "endpoint id")
        wanted = None if columns is None else list(dict.fromkeys(["timestamp", *columns]))
        parts = []
        for path in self._files(endpoint_id, start, end):
            try:
                table = pq.read_table(io.BytesIO(self._objects.get_object(path)))
            except (pa.ArrowInvalid, OSError) as exc:
                raise CorruptStore(f"{path}: unreadable sample object ({exc})") from exc
            frame = table.to_pandas()
            parts.append(frame[(frame["timestamp"] >= start) & (frame["timestamp"] < end)])
        parts = [p for p in parts if not p.empty]
        if not parts:
            return pd.DataFrame({name: pd.Series(dtype="int64" if name == "timestamp" else "object")
                                 for name in (wanted or ["timestamp"])})
        frame = pd.concat(parts, ignore_index=True)
        for missing in [] if wanted is None else [c for c in wanted if c not in frame.columns]:
            frame[missing] = None
        frame = frame.sort_values("timestamp", kind="stable", ignore_index=True)
        return frame if wanted is None else frame[wanted]

    def _files(self, endpoint_id: str, start: int, end: int) -> list[str]:
        if end <= start:
            return []
        root = self._paths.samples_prefix(endpoint_id) + "/"
        first, last = start // HOUR_MS, (end - 1) // HOUR_MS
        chosen = []
        for path in self._objects.list_objects(root):
            hour = parse_hour_dir(path[len(root):].split("/", 1)[0])
            if hour is not None and first <= hour <= last and path.endswith(".parquet"):
                chosen.append(path)
        return chosen

    def close(self) -> None:
        """The shared client is closed by the backend."""
