"""The SampleStore role on V3IO objects, in the local backend's layout.

``<paths.samples_prefix(endpoint_id)>/hour=<YYYYMMDDHH>/<sha1(batch_id)[:24]>.parquet``: a batch is split
by the UTC hour of its rows and each part is one object named after the batch, so appending a batch
again overwrites the same objects (an object PUT is atomic for readers). The file naming, hour
partitioning and the ``append``/``read`` logic are shared with
:mod:`modelmon.backends.local.samples` through :class:`~modelmon.backends.sample_layout.PartitionedSampleStore`.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from modelmon.backends.sample_layout import PartitionedSampleStore, parquet_bytes, parse_hour_dir
from modelmon.backends.v3io.objects import V3ioObjectStore
from modelmon.core.errors import CorruptStore
from modelmon.core.paths import ProjectPaths


class V3ioSampleStore(PartitionedSampleStore[str]):
    """Parquet objects per endpoint and hour, read back with the time filter applied per file."""

    def __init__(self, objects: V3ioObjectStore, paths: ProjectPaths) -> None:
        self._objects = objects
        self._paths = paths

    def close(self) -> None:
        """The shared client is closed by the backend."""

    def _write_file(self, endpoint_id: str, hour_dir_name: str, name: str, table: pa.Table) -> str:
        target = f"{self._paths.samples_prefix(endpoint_id)}/{hour_dir_name}/{name}"
        self._objects.put_object(target, parquet_bytes(table).to_pybytes())
        return target

    def _batch_files(self, endpoint_id: str, name: str) -> Iterable[str]:
        listed = self._objects.list_objects(self._paths.samples_prefix(endpoint_id) + "/")
        return [path for path in listed if path.endswith("/" + name)]

    def _delete_file(self, file: str) -> None:
        self._objects.delete_object(file)

    def _hour_files(self, endpoint_id: str, first_hour: int, last_hour: int) -> list[str]:
        root = self._paths.samples_prefix(endpoint_id) + "/"
        chosen = []
        for path in self._objects.list_objects(root):
            hour = parse_hour_dir(path[len(root):].split("/", 1)[0])
            if hour is not None and first_hour <= hour <= last_hour and path.endswith(".parquet"):
                chosen.append(path)
        return chosen

    def _read_files(
        self, endpoint_id: str, files: list[str], start: int, end: int, wanted: list[str] | None
    ) -> pd.DataFrame | None:
        """Each object whole, filtered to the range in pandas."""
        parts = []
        for path in files:
            try:
                table = pq.read_table(io.BytesIO(self._objects.get_object(path)))
            except (pa.ArrowInvalid, OSError) as exc:
                raise CorruptStore(f"{path}: unreadable sample object ({exc})") from exc
            frame = table.to_pandas()
            parts.append(frame[(frame["timestamp"] >= start) & (frame["timestamp"] < end)])
        parts = [p for p in parts if not p.empty]
        return pd.concat(parts, ignore_index=True) if parts else None
