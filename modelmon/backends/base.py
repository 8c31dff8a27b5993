"""The storage roles every backend implements: Stream, KV, TSDB, SampleStore and ObjectStore.

Each role is a narrow ``typing.Protocol``. Times are ``int`` epoch milliseconds (UTC) unless a
signature says otherwise. Every backend passes the same contract suite (``tests/backends``).
Backends raise only :mod:`modelmon.core.errors` types: ``NotFound`` for a missing stream/table,
``BackendUnavailable`` for transient failures, ``CorruptStore`` for a damaged store.
"""

from __future__ import annotations

import dataclasses
import enum
import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from modelmon.core.errors import BackendError, BackendUnavailable

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


#: V3IO's PutRecords limits, which every backend applies so that a test on ``local`` sees production's
#: rule (docs/v3io.md, "Real-system rules the test servers enforce", gives the sources):
#: records per request ("Records": up to 1,000; more and the request fails) ...
MAX_PUT_BATCH = 1000
#: ... bytes of data per record ("Records.Data": maximum size 1 MB, where 1 MB = 1,024 KB) ...
MAX_RECORD_BYTES = 1024 * 1024
#: ... bytes of a request's JSON body, where the data is base64 text ("maximum JSON body size for
#: PutRecords requests is 10 MB") ...
MAX_PUT_BYTES = 10 * 1024 * 1024
#: ... and bytes of a partition key ("Records.PartitionKey": maximum size 256 bytes).
MAX_PARTITION_KEY_BYTES = 256
#: JSON around one record in a request body (``{"Data":"",...}``, a shard id or the key's quotes, a comma);
#: a key counts 6 bytes a character (orjson writes a control character as ``\u00XX``), so the estimate
#: is never below the body the ``v3io`` client sends.
_RECORD_JSON_BYTES = 48
_BODY_JSON_BYTES = 64


class RecordTooLarge(ValueError):
    """A record no stream takes whatever the batch: its data is over :data:`MAX_RECORD_BYTES` (or its
    partition key over :data:`MAX_PARTITION_KEY_BYTES`). Splitting cannot help and retrying never will:
    dead-letter it (with an excerpt) or drop it, counted."""

    def __init__(self, path: str, index: int, size: int, limit: int, what: str = "data") -> None:
        super().__init__(f"stream {path!r}: record {index} has {size:,} bytes of {what}, over the limit of "
                         f"{limit:,} bytes per record; nothing was put")
        self.path, self.index, self.size, self.limit = path, index, size, limit


def oversize(record: OutRecord) -> tuple[int, int, str] | None:
    """``(size, limit, what)`` if ``record`` is over a per-record limit, else ``None``."""
    size = len(record.data)
    if size > MAX_RECORD_BYTES:
        return size, MAX_RECORD_BYTES, "data"
    key = record.partition_key
    if key is not None and len(key) * 4 > MAX_PARTITION_KEY_BYTES and len(key.encode()) > MAX_PARTITION_KEY_BYTES:
        return len(key.encode()), MAX_PARTITION_KEY_BYTES, "partition key"
    return None


def put_requests(path: str, records: Sequence[OutRecord]) -> list[range]:
    """``records`` cut into consecutive PutRecords requests within :data:`MAX_PUT_BATCH` records and
    :data:`MAX_PUT_BYTES` of JSON body; every backend's ``put_records`` sends (or commits) one at a time.

    Checks every record first: ``TypeError`` for data that is not bytes, :class:`RecordTooLarge` for one
    over a per-record limit, so a call that cannot succeed sends nothing.

    >>> [len(r) for r in put_requests("s", [OutRecord(b"x" * 600_000)] * 40)]
    [13, 13, 13, 1]
    """
    if len(records) <= MAX_PUT_BATCH:  # the usual call, one request: checked with a few list passes
        lengths = [len(r.data) for r in records if r.data.__class__ is bytes]
        keys = max((len(r.partition_key) for r in records if r.partition_key is not None), default=0)
        if len(lengths) == len(records) and max(lengths, default=0) <= MAX_RECORD_BYTES \
                and keys * 4 <= MAX_PARTITION_KEY_BYTES \
                and sum(lengths) // 3 * 4 + len(records) * (_RECORD_JSON_BYTES + 4 + 6 * keys) <= MAX_PUT_BYTES:
            return [range(len(records))] if records else []
    cuts = [0]
    size = _BODY_JSON_BYTES
    start = 0
    for index, record in enumerate(records):
        data = record.data
        if not isinstance(data, bytes | bytearray):
            raise TypeError(f"stream {path!r}: record {index} data must be bytes, not {type(data).__name__}")
        key = record.partition_key
        weight = (len(data) + 2) // 3 * 4 + _RECORD_JSON_BYTES + (6 * len(key) if key is not None else 0)
        if len(data) > MAX_RECORD_BYTES or (key is not None and len(key) * 4 > MAX_PARTITION_KEY_BYTES):
            problem = oversize(record)
            if problem is not None:
                raise RecordTooLarge(path, index, *problem)
        if index - start == MAX_PUT_BATCH or size + weight > MAX_PUT_BYTES:
            cuts.append(index)
            start, size = index, _BODY_JSON_BYTES
        size += weight
    cuts.append(len(records))
    return [range(a, b) for a, b in itertools.pairwise(cuts) if b > a]


class PutIncomplete(BackendError):
    """``put_records`` stored some of its records, then failed (its cause says why: ``__cause__``).

    ``placed[i]`` is record ``i``'s ``(shard, sequence)``, or ``None`` if it was not stored. A caller that
    tries again sends only :meth:`unsent`, so nothing stored is stored twice. Raised as
    :class:`PutIncompleteUnavailable` (a ``BackendUnavailable``) when the cause is an outage.
    """

    def __init__(self, message: str, placed: Sequence[tuple[int, int] | None]) -> None:
        super().__init__(message)
        self.placed = list(placed)

    def unsent(self, records: Sequence[OutRecord]) -> list[OutRecord]:
        """The records of the failed call that were not stored, in their order."""
        return [r for r, p in zip(records, self.placed, strict=True) if p is None]

    @classmethod
    def after(cls, path: str, placed: Sequence[tuple[int, int] | None], cause: BaseException) -> PutIncomplete:
        """The error to raise (``from cause``) for a put to ``path`` that stored ``placed`` before ``cause``."""
        kind = PutIncompleteUnavailable if isinstance(cause, BackendUnavailable) else PutIncomplete
        missing = sum(p is None for p in placed)
        return kind(f"stream {path!r}: {len(placed) - missing} of {len(placed)} records stored, then "
                    f"{type(cause).__name__}: {cause}; re-send only the {missing} unsent", placed)


class PutIncompleteUnavailable(PutIncomplete, BackendUnavailable):
    """A :class:`PutIncomplete` because of an outage: the unsent records may be sent again later."""


@runtime_checkable
class Stream(Protocol):
    """Sharded, ordered, retained streams with consumer-group offsets (V3IO/Kinesis semantics).

    **What a put guarantees** is what V3IO's PutRecords does, on every backend:

    - *Sizes*: a record holds at most :data:`MAX_RECORD_BYTES` of data; a call is sent as requests of at
      most :data:`MAX_PUT_BATCH` records and :data:`MAX_PUT_BYTES` (:func:`put_requests`). A record
      over a per-record limit is refused before anything is sent (:class:`RecordTooLarge`): never retry
      it, dead-letter or drop it.
    - *At least once, per record*: V3IO stores or refuses each record of a request on its own, so a call
      is not atomic. The backend sends again only the records a response marks failed. If the call
      still fails after storing some, it raises :class:`PutIncomplete` saying which: a caller that tries
      again sends only ``exc.unsent(records)``. Any other error means nothing was stored, except that a
      request whose answer was lost (a cut connection) may have been applied and is sent again by the
      client: that record is stored twice.
    - *Order per shard only without failures*: records of one shard (one partition key) are stored in
      the order given unless one failed on the way; a record sent again lands after later ones of the
      same request that were stored at first, and a record stored twice sits at two positions.

    Readers are therefore idempotent, each by its message's identity: the stream function counts a
    tracking record once by its ``record_id``; a window is ``(endpoint, app, start, end)`` and the
    writer keeps the newest result per window; labels are stored under their record's position and the
    latest label of a request wins; dead letters and parked copies name their origin position.
    """

    def create(self, path: str, shards: int = 1, retention_hours: int = 24) -> bool:
        """Create the stream; ``False`` if it already existed (then nothing changes)."""

    def describe(self, path: str) -> StreamInfo:
        """Shard count and retention; ``NotFound`` if there is no such stream."""

    def put_records(self, path: str, records: Sequence[OutRecord]) -> list[tuple[int, int]]:
        """Append records; returns ``(shard, sequence)`` per record, in order.

        Split into requests by :func:`put_requests`; :class:`RecordTooLarge` (nothing sent) for a record
        over the per-record limits, :class:`PutIncomplete` when some records were stored before a failure
        (see the class docstring: per record at least once, no atomicity)."""

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


@dataclasses.dataclass(frozen=True)
class Update:
    """One conditional update of :meth:`KV.update_many`: what ``KV.update(table, key, set_, condition=,
    create=)`` does."""

    key: str
    set_: Mapping[str, Any]
    condition: Condition = ()
    create: bool = True


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

    def update_many(self, table: str, updates: Sequence[Update]) -> list[bool]:
        """Each of ``updates`` as :meth:`update` applies it, in order; whether each was applied.

        The updates are independent compare-and-sets (none depends on another's outcome), so a backend
        may apply them in one transaction (local: one lock taken instead of one per item) or one request
        each (V3IO). An error raises; updates before it may have been applied.
        """

    def get(self, table: str, key: str) -> Item | None:
        """The item, or ``None``."""

    def scan(
        self, table: str, *, condition: Condition = (), limit: int = 1000, marker: str | None = None
    ) -> tuple[list[tuple[str, Item]], str | None]:
        """One page of ``(key, item)`` in key order, and the marker of the next page (``None``: done)."""

    def delete(self, table: str, key: str) -> None:
        """Remove the item if present."""


def get_many(kv: KV, table: str, keys: Sequence[str]) -> dict[str, Item]:
    """The items of ``keys`` that exist in ``table``, by key: one read where the backend has one for many keys (the
    local KV: an app function reads a packed record's hundred endpoints in one transaction), else one ``get`` each."""
    many = getattr(kv, "get_many", None)
    if callable(many):
        found: dict[str, Item] = many(table, keys)
        return found
    return {key: item for key in dict.fromkeys(keys) if (item := kv.get(table, key)) is not None}


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
        columns (the v3io backend also writes a column of text as text, a string metric of V3IO TSDB, which
        has no aggregates: MLRun's ``start_infer_time``). Each label set's rows are applied in time order
        (stable): a row at or before its label set's latest time (stored, or an earlier row of this write;
        of two rows at one time the first is kept) is dropped without an error. Writing the same rows again
        therefore changes nothing. A write may add labels to a table; rows stored before read them as empty."""

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


def check_object_path(path: str) -> str:
    """``path`` if it is a safe relative object path (what every ObjectStore accepts), else ``ValueError``."""
    if not isinstance(path, str) or not path:
        raise ValueError(f"object path must be a non-empty string, not {path!r}")
    parts = path.split("/")
    if path.startswith("/") or "\\" in path or "\0" in path or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"object path {path!r} must be relative, without '..', '.', '\\' or empty segments")
    if any(p.startswith(".") for p in parts):
        raise ValueError(f"object path {path!r}: segments may not start with '.' (reserved for temp files)")
    return path


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
