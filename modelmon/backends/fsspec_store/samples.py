"""The SampleStore role on an fsspec file system, in the shared layout under ``<root>/samples/``.

``<endpoint_id>/hour=<YYYYMMDDHH>/<sha1(batch_id)[:24]>.parquet``, as the local and v3io backends keep
it (:mod:`modelmon.backends.sample_layout` holds the logic); a ``file://`` root that is a local backend's
home reads the same files. What is particular here is what each step costs on an object store, where
every listing and every file is a request:

- a read lists only its hours: each hour's key prefix when the range spans a few hours, else one
  delimited listing of the endpoint's hour folders and then the folders in range; never the bucket;
- the files of a read are fetched in one concurrent call and filtered per file in arrow;
- an append must remove an older copy of its batch from hours its rows left (the layout's rule). Listing
  the endpoint to find them costs one request per 1,000 of its files, on every append, so each batch file
  has an empty *marker* beside the hours, ``<endpoint_id>/batches/<batch file stem>/hour=<YYYYMMDDHH>``:
  the hours of a batch are one small listing whatever the endpoint's history. The marker is written before
  its file and removed after it, so a writer killed between the two leaves a marker without a file (whose
  removal later is a no-op), never a file no marker leads to. Readers never look at ``batches/``, which is
  no hour folder.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from modelmon.backends.fsspec_store.folder import Folder
from modelmon.backends.sample_layout import (
    DIRECT_HOURS,
    PartitionedSampleStore,
    hour_dir,
    parse_hour_dir,
    write_parquet,
)
from modelmon.core.errors import CorruptStore

SAMPLES_FOLDER = "samples"
#: Where an endpoint's batch markers are (a name that is no hour folder: readers skip it).
BATCHES_FOLDER = "batches"


class FsspecSampleStore(PartitionedSampleStore[str]):
    """Parquet files per endpoint and hour; a file is a relative path under the samples folder."""

    def __init__(self, folder: Folder) -> None:
        self._folder = folder

    def close(self) -> None:
        """Nothing to release: the file system's connections close with the process."""

    def _write_file(self, endpoint_id: str, hour_dir_name: str, name: str, table: pa.Table) -> str:
        sink = pa.BufferOutputStream()
        write_parquet(table, sink)
        rel = f"{endpoint_id}/{hour_dir_name}/{name}"
        what = f"append samples of {endpoint_id!r}"
        self._folder.put(_marker(rel), b"", what, sync=False)
        self._folder.put(rel, sink.getvalue().to_pybytes(), what, sync=False)
        return rel

    def _batch_files(self, endpoint_id: str, name: str) -> Iterable[str]:
        markers = self._folder.find(_marker(f"{endpoint_id}/-/{name}").rsplit("/", 1)[0],
                                    f"list samples of {endpoint_id!r}")
        return [f"{endpoint_id}/{marker.rsplit('/', 1)[1]}/{name}" for marker in markers]

    def _delete_file(self, file: str) -> None:
        what = f"delete sample file {file!r}"
        self._folder.delete(file, what)
        self._folder.delete(_marker(file), what)

    def _hour_files(self, endpoint_id: str, first_hour: int, last_hour: int) -> list[str]:
        what = f"list samples of {endpoint_id!r}"
        if last_hour - first_hour < DIRECT_HOURS:
            folders = [hour_dir(hour) for hour in range(first_hour, last_hour + 1)]
        else:
            folders = [name for name in self._folder.subfolders(endpoint_id, what)
                       if (hour := parse_hour_dir(name)) is not None and first_hour <= hour <= last_hour]
        files: list[str] = []
        for folder in folders:
            files.extend(rel for rel in self._folder.find(f"{endpoint_id}/{folder}", what)
                         if rel.endswith(".parquet") and rel.count("/") == 2)
        return files

    def _read_files(
        self, endpoint_id: str, files: list[str], start: int, end: int, wanted: list[str] | None
    ) -> pd.DataFrame | None:
        """Every file fetched at once, each filtered to the range and the wanted columns in arrow."""
        contents = self._folder.get_many(files, f"read samples of {endpoint_id!r}")
        parts = []
        for rel in files:
            data = contents.get(rel)
            if data is None:
                continue
            table = self._table(rel, data, wanted)
            times = table.column("timestamp")
            table = table.filter(pc.and_(pc.greater_equal(times, start), pc.less(times, end)))
            if table.num_rows:
                parts.append(table.to_pandas())
        return pd.concat(parts, ignore_index=True) if parts else None

    def _table(self, rel: str, data: bytes, wanted: list[str] | None) -> pa.Table:
        try:
            file = pq.ParquetFile(pa.BufferReader(data))
            present = None if wanted is None else [c for c in wanted if c in file.schema_arrow.names]
            table = file.read(columns=present)
            if "timestamp" not in table.column_names:
                raise ValueError("no 'timestamp' column")
        except (pa.ArrowInvalid, OSError, ValueError) as exc:
            raise CorruptStore(f"{self._folder.location.where}/{SAMPLES_FOLDER}/{rel}: unreadable sample file "
                               f"({exc})") from exc
        return table


def _marker(file: str) -> str:
    """The marker of the batch file ``<endpoint>/<hour folder>/<stem>.parquet``."""
    endpoint_id, hour_folder, name = file.split("/")
    return f"{endpoint_id}/{BATCHES_FOLDER}/{name.removesuffix('.parquet')}/{hour_folder}"
