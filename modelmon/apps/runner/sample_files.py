"""What the app function knows of each sample file it has met: its schema and the span of its times.

The local sample store keeps a file per tracked batch in hour folders, and a read of a window opens every file of
its hour: the window's schema is unified over all of them (a column one batch added shows in the others' windows
too), and the time filter then skips the rows of other windows. By the end of an hour of one-minute windows
that is sixty files opened for one window's rows. A file never changes once written (a batch written again
replaces it under a new inode), so its footer is read once here, kept with the file's ``stat`` identity, and a
pack's read opens only the files whose time span meets the window, while still unifying every file's schema.
"""

from __future__ import annotations

import collections
import dataclasses
import os

import pyarrow as pa
import pyarrow.parquet as pq

#: Files whose facts are kept (least recently used dropped first): a few hundred bytes each.
MAX_FILES = 200_000


@dataclasses.dataclass(frozen=True)
class FileFacts:
    """One file's schema (shared with every file of the same schema) and the span of its ``timestamp`` values;
    ``None`` bounds when a row group has no statistics (the file is then read for every window)."""

    identity: tuple[int, int, int, int]  # inode, device, size, mtime (ns)
    schema: pa.Schema
    first_ms: int | None
    last_ms: int | None
    size: int

    def meets(self, start: int, end: int) -> bool:
        """Whether the file may hold times in ``[start, end)``."""
        if self.first_ms is None or self.last_ms is None:
            return True
        return self.last_ms >= start and self.first_ms < end

    def lies_in(self, start: int, end: int) -> bool:
        """Whether every time of the file is in ``[start, end)`` (known only with statistics)."""
        return self.first_ms is not None and self.last_ms is not None and start <= self.first_ms and self.last_ms < end


class SampleFiles:
    """The facts of the sample files an app function has read, checked against each file's ``stat`` on use."""

    def __init__(self, max_files: int = MAX_FILES) -> None:
        self.max_files = max_files
        self._facts: collections.OrderedDict[str, FileFacts] = collections.OrderedDict()
        self._schemas: dict[bytes, pa.Schema] = {}  # one object per distinct schema: equal schemas are the same
        self.footers_read = 0  #: footers read so far (what the cache saves is visible in tests)

    def facts(self, path: str) -> tuple[FileFacts, pq.ParquetFile | None]:
        """The facts of ``path`` (its footer read unless known for the same file), and the open file that read it
        (``None`` when known): reading its rows does not open it and read the footer again. ``OSError`` if the file
        is gone, pyarrow's error if it is no parquet file."""
        stat = os.stat(path)
        identity = (stat.st_ino, stat.st_dev, stat.st_size, stat.st_mtime_ns)
        known = self._facts.get(path)
        if known is not None and known.identity == identity:
            self._facts.move_to_end(path)
            return known, None
        opened = pq.ParquetFile(path)
        schema = opened.schema_arrow
        self.footers_read += 1
        schema = self._schemas.setdefault(schema.serialize().to_pybytes(), schema)
        first, last = _time_span(opened.metadata)
        facts = self._facts[path] = FileFacts(identity, schema, first, last, stat.st_size)
        self._facts.move_to_end(path)
        while len(self._facts) > self.max_files:
            self._facts.popitem(last=False)
        return facts, opened


def _time_span(meta: pq.FileMetaData) -> tuple[int | None, int | None]:
    """The least and greatest ``timestamp`` of a file by its row groups' statistics; ``(None, None)`` when a row
    group has none (or the column is missing or not an integer)."""
    column = next((i for i in range(meta.num_columns) if meta.schema.column(i).path == "timestamp"), None)
    if column is None or meta.num_row_groups == 0:
        return None, None
    first: int | None = None
    last: int | None = None
    for group in range(meta.num_row_groups):
        stats = meta.row_group(group).column(column).statistics
        if stats is None or not stats.has_min_max or not isinstance(stats.min, int) \
                or not isinstance(stats.max, int):
            return None, None
        first = stats.min if first is None else min(first, stats.min)
        last = stats.max if last is None else max(last, stats.max)
    return first, last
