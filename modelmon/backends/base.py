"""The storage roles every backend implements: Stream, KV, TSDB, SampleStore and ObjectStore.

Each role is a narrow ``typing.Protocol``. Times are ``int`` epoch milliseconds (UTC) unless a
signature says otherwise. Every backend passes the same contract suite (``tests/backends``).
Backends raise only :mod:`modelmon.core.errors` types: ``NotFound`` for a missing stream/table,
``BackendUnavailable`` for transient failures, ``CorruptStore`` for a damaged store.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import pandas as pd

# ---------------------------------------------------------------------------------------- streams


@dataclasses.dataclass(frozen=True)
class OutRecord:
    """A record to put: routed to ``shard`` if given, else by a stable hash of ``partition_key``."""

    data: bytes
    partition_key: str | None = None
    shard: int | None = None


@dataclasses.dataclass(frozen=True)
class Record:
    """A record read from a shard. ``sequence`` numbers start at 1 and grow by 1 within a shard."""

    shard: int
    sequence: int
    data: bytes
    partition_key: str | None
    arrival_ms: int


@dataclasses.dataclass(frozen=True)
class StreamInfo:
    shards: int
    retention_hours: int


class SeekTo(enum.StrEnum):
    EARLIEST = "EARLIEST"  # the oldest record still retained
    LATEST = "LATEST"  # after the newest record: only records put from now on
    SEQUENCE = "SEQUENCE"  # the record with this sequence number
    TIME = "TIME"  # the first record that arrived at or after this time (epoch ms)


#: The largest batch ``put_records`` writes atomically on every backend.
MAX_PUT_BATCH = 1000


@runtime_checkable
class Stream(Protocol):
    """Sharded, ordered, retained streams with consumer-group offsets (V3IO/Kinesis semantics)."""

    def create(self, path: str, shards: int = 1, retention_hours: int = 24) -> bool:
        """Create the stream; ``False`` if it already existed (then nothing changes)."""

    def describe(self, path: str) -> StreamInfo:
        """Shard count and retention; ``NotFound`` if there is no such stream."""

    def put_records(self, path: str, records: Sequence[OutRecord]) -> list[tuple[int, int]]:
        """Append records; returns ``(shard, sequence)`` per record, in order.

        Up to ``MAX_PUT_BATCH`` records are all-or-nothing (V3IO's PutRecords limit); a longer list
        is split into such batches, each atomic on its own."""

    def seek(self, path: str, shard: int, to: SeekTo, value: int | None = None) -> int:
        """The sequence number to read from for this position (it may not exist yet)."""

    def read(self, path: str, shard: int, sequence: int, limit: int = 1000) -> list[Record]:
        """Up to ``limit`` records of ``shard`` with sequence numbers ``>= sequence``, in order."""

    def commit(self, path: str, group: str, shard: int, sequence: int) -> None:
        """Store ``sequence`` as the next record ``group`` will read from ``shard``."""

    def committed(self, path: str, group: str, shard: int) -> int | None:
        """The sequence committed by ``group`` for ``shard``, or ``None`` if it never committed."""


# ------------------------------------------------------------------------------------------- KV


class Op(enum.StrEnum):
    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    EXISTS = "exists"
    NOT_EXISTS = "not_exists"


@dataclasses.dataclass(frozen=True)
class Cond:
    """One comparison on an item attribute; a condition is a sequence of these, all required."""

    attr: str
    op: Op
    value: Any = None

    @classmethod
    def eq(cls, attr: str, value: Any) -> Cond:
        return cls(attr, Op.EQ, value)

    @classmethod
    def exists(cls, attr: str) -> Cond:
        return cls(attr, Op.EXISTS)

    @classmethod
    def not_exists(cls, attr: str) -> Cond:
        return cls(attr, Op.NOT_EXISTS)


Condition = Sequence[Cond]
#: Attribute values a KV item holds: text, numbers, booleans or None (nested data as JSON text).
Item = dict[str, Any]


@runtime_checkable
class KV(Protocol):
    """Key-value tables of flat items."""

    def put(self, table: str, key: str, item: Mapping[str, Any]) -> None:
        """Replace the whole item."""

    def update(
        self,
        table: str,
        key: str,
        set_: Mapping[str, Any] | None = None,
        *,
        increment: Mapping[str, int | float] | None = None,
        condition: Condition = (),
        create: bool = True,
    ) -> bool:
        """Set and increment attributes, creating the item if needed (and ``create``).

        With a ``condition`` (all comparisons against the current item, a missing item having no
        attributes) the update happens only if it holds; returns ``False`` when it does not.
        Conditional updates are atomic: this is the compare-and-set that makes writers idempotent.
        """

    def get(self, table: str, key: str) -> Item | None:
        """The item, or ``None``."""

    def scan(
        self, table: str, *, condition: Condition = (), limit: int = 1000, marker: str | None = None
    ) -> tuple[list[tuple[str, Item]], str | None]:
        """One page of ``(key, item)`` in key order, and the marker of the next page (``None``: done)."""

    def delete(self, table: str, key: str) -> None:
        """Remove the item if present."""


def scan_all(kv: KV, table: str, condition: Condition = (), page: int = 1000) -> Iterator[tuple[str, Item]]:
    """Every ``(key, item)`` of ``table`` that matches ``condition``, page by page."""
    marker: str | None = None
    while True:
        items, marker = kv.scan(table, condition=condition, limit=page, marker=marker)
        yield from items
        if marker is None:
            return


# ----------------------------------------------------------------------------------------- TSDB

AGGREGATORS = ("count", "sum", "avg", "min", "max", "last")


@runtime_checkable
class TSDB(Protocol):
    """Time series: rows of (time, labels..., numeric columns...).

    **First write wins**, as on V3IO TSDB: a series (a label set) only grows forward in time. A row
    whose time is at or before the latest time already written for its label set is dropped silently,
    so a rewrite never changes a stored point, and a late point is lost. Writers that may write a
    point again, or late, must key it so that it is a new series (e.g. a label per batch or per
    write) and let readers choose. (V3IO keeps a latest time per label set *and column*; the two agree
    because every writer of a table writes all its columns in each row.)
    """

    def create_table(self, table: str) -> None:
        """Create the table if missing (idempotent)."""

    def write(self, table: str, df: pd.DataFrame, labels: Sequence[str]) -> None:
        """Write rows. ``df`` has an int64 ``time`` column (epoch ms), the ``labels`` (text) and numeric
        columns. Each label set's rows are applied in time order (stable): a row at or before its
        label set's latest time (stored, or an earlier row of this write; of two rows at one time the
        first is kept) is dropped without an error. Writing the same rows again therefore changes
        nothing. A write may add labels to a table; rows stored before read them as empty."""

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
        """Rows with ``start <= time < end`` whose labels match ``filters``, sorted by labels then time.

        With ``step`` (ms) and ``aggregators``, one row per label set and bucket
        ``[start + k*step, start + (k+1)*step)``, ``time`` being the bucket start, and one column
        ``f"{agg}({column})"`` per aggregator and column (empty buckets omitted).
        """


# ---------------------------------------------------------------------------------- sample store


@runtime_checkable
class SampleStore(Protocol):
    """An endpoint's tracked rows as parquet, partitioned by event time."""

    def append(self, endpoint_id: str, df: pd.DataFrame, batch_id: str) -> None:
        """Store rows (a ``timestamp`` column of epoch ms plus features/outputs). Idempotent per
        ``batch_id``: appending the same batch again replaces it instead of duplicating it."""

    def read(
        self, endpoint_id: str, start: int, end: int, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Rows with ``start <= timestamp < end`` in timestamp order (empty frame if none)."""


# ---------------------------------------------------------------------------------- object store


@runtime_checkable
class ObjectStore(Protocol):
    """Named blobs (artifacts, datasets)."""

    def put_object(self, path: str, data: bytes) -> None: ...

    def get_object(self, path: str) -> bytes:
        """The blob; ``NotFound`` if missing."""

    def list_objects(self, prefix: str) -> list[str]:
        """Paths under ``prefix``, sorted."""

    def delete_object(self, path: str) -> None: ...


# -------------------------------------------------------------------------------------- bundle


@dataclasses.dataclass
class Backend:
    """The five roles of one configured backend."""

    name: str
    streams: Stream
    kv: KV
    tsdb: TSDB
    samples: SampleStore
    objects: ObjectStore

    def close(self) -> None:
        for role in (self.streams, self.kv, self.tsdb, self.samples, self.objects):
            close = getattr(role, "close", None)
            if close is not None:
                close()
