"""The Stream role on V3IO streams: CreateStream, PutRecords in requests, SeekShard + GetRecords.

``put_records`` cuts its records into PutRecords requests within V3IO's limits
(:func:`~modelmon.backends.base.put_requests`) and sends them one after the other. V3IO stores or refuses
each record of a request on its own (the response's per-record ``ErrorCode``): only the refused ones are
sent again, with backoff, and the next request waits until this one is done. A failure after something
was stored is a :class:`~modelmon.backends.base.PutIncomplete` naming what was, so a caller re-sends
only the rest.

Consumer-group offsets are kept where Nuclio's v3ioStream trigger (v3io-go ``streamconsumergroup``)
keeps them: an attribute ``__<group>_committed_sequence_number`` on the shard item ``<stream>/<shard>``,
holding the sequence number of the last *handled* record, written with the condition
``__obj_type == 3`` (the item must be a stream shard). Nuclio resumes at that number + 1, which is what
:meth:`V3ioStream.committed` returns, so a real Nuclio processor and modelmon's runtime agree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import v3io.dataplane

from modelmon.backends.base import OutRecord, PutIncomplete, Record, SeekTo, StreamInfo, put_requests
from modelmon.backends.v3io.calls import V3ioCalls, check, is_condition_false, split_path
from modelmon.core.errors import BackendUnavailable, NotFound

_EINVAL = 22  # a record V3IO refuses as invalid (no such shard, too large): retrying will not help
_GROUP = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")


def committed_attribute(group: str) -> str:
    """The shard attribute Nuclio's consumer group ``group`` commits to."""
    if not isinstance(group, str) or not _GROUP.fullmatch(group):
        raise ValueError(f"consumer group {group!r}: use letters, digits, '_' and '-'")
    return f"__{group}_committed_sequence_number"


class V3ioStream:
    """The ``Stream`` role; a stream path is "<container>/<path>"."""

    def __init__(self, client: v3io.dataplane.Client, calls: V3ioCalls) -> None:
        self._client = client
        self._calls = calls

    def create(self, path: str, shards: int = 1, retention_hours: int = 24) -> bool:
        container, rel = split_path(path)
        if not isinstance(shards, int) or shards < 1 or not isinstance(retention_hours, int) or retention_hours < 1:
            raise ValueError(f"stream {path!r}: shards and retention_hours must be positive integers")
        response = self._calls.call(f"create stream {path}", self._client.stream.create, container, rel,
                                    shards, retention_period_hours=retention_hours)
        if response.status_code == 409:
            return False
        check(response, f"create stream {path}")
        return True

    def describe(self, path: str) -> StreamInfo:
        container, rel = split_path(path)
        response = self._calls.call(f"describe stream {path}", self._client.stream.describe, container, rel)
        check(response, f"describe stream {path}")
        out = response.output
        return StreamInfo(shards=int(out.shard_count), retention_hours=int(out.retention_period_hours))

    def put_records(self, path: str, records: Sequence[OutRecord]) -> list[tuple[int, int]]:
        """Append request by request; records the platform refuses one by one (throttling) are sent again."""
        container, rel = split_path(path)
        requests = put_requests(path, records)
        explicit = max((r.shard for r in records if r.shard is not None), default=None)
        if explicit is not None:
            shards = self.describe(path).shards
            bad = next((i for i, r in enumerate(records) if r.shard is not None and not 0 <= r.shard < shards), None)
            if bad is not None:
                raise ValueError(f"stream {path!r}: record {bad} names shard {records[bad].shard}, but the stream "
                                 f"has shards 0..{shards - 1}; nothing was put")
        placed: list[tuple[int, int] | None] = [None] * len(records)
        for request in requests:
            try:
                self._put_request(container, rel, path, records, request, placed)
            except Exception as exc:
                if all(p is None for p in placed):
                    raise
                raise PutIncomplete.after(path, placed, exc) from exc
        return [p for p in placed if p is not None]

    def _put_request(self, container: str, rel: str, path: str, records: Sequence[OutRecord], request: range,
                     placed: list[tuple[int, int] | None]) -> None:
        """Send ``records[request]``, then again only those refused, until all are stored or tries run out."""
        pending = list(request)
        attempt = 0
        while pending:
            body = []
            for index in pending:
                record = records[index]
                entry: dict[str, object] = {"data": bytes(record.data)}
                if record.shard is not None:
                    entry["shard_id"] = record.shard
                elif record.partition_key is not None:
                    entry["partition_key"] = record.partition_key
                body.append(entry)
            response = self._calls.call(f"put records {path}", self._client.stream.put_records, container, rel, body)
            check(response, f"put records {path}", ok=(200,))
            failed = []
            for index, result in zip(pending, response.output.records, strict=True):
                if result.error_code:
                    failed.append((index, result.error_code, result.error_message))
                else:
                    placed[index] = (int(result.shard_id), int(result.sequence_number))
            invalid = next((f for f in failed if abs(int(f[1])) == _EINVAL), None)
            if invalid is not None:
                raise ValueError(f"stream {path!r}: record {invalid[0]} was refused: {invalid[2]}")
            pending = [f[0] for f in failed]
            if pending and not self._calls.sleep_before_retry(attempt):
                raise BackendUnavailable(f"V3IO put records {path}: {len(pending)} records still rejected "
                                         f"({failed[0][2]})")
            attempt += 1

    def seek(self, path: str, shard: int, to: SeekTo, value: int | None = None) -> int:
        to = SeekTo(to)
        if to == SeekTo.SEQUENCE:
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"seek {path!r} shard {shard}: SEQUENCE needs a sequence number >= 1, not {value!r}")
            self._last_sequence(path, shard)  # the shard must exist
            return value
        if to == SeekTo.LATEST:
            return self._last_sequence(path, shard) + 1
        kwargs: dict[str, int] = {}
        if to == SeekTo.TIME:
            if not isinstance(value, int):
                raise ValueError(f"seek {path!r} shard {shard}: TIME needs epoch milliseconds, not {value!r}")
            kwargs = {"timestamp_sec": value // 1000, "timestamp_nsec": value % 1000 * 1_000_000}
        # the end is read before the seek: a record appended after the seek found none must lie at or after
        # the position returned (read after it, the end would count that record and skip it)
        end = self._last_sequence(path, shard) + 1
        first = self._records_at(path, shard, to.value, 1, **kwargs)
        return first[0].sequence if first else end

    def read(self, path: str, shard: int, sequence: int, limit: int = 1000) -> list[Record]:
        if not isinstance(sequence, int) or sequence < 1 or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"read {path!r} shard {shard}: sequence and limit must be positive integers")
        try:
            records = self._records_at(path, shard, "SEQUENCE", limit, starting_sequence_number=sequence)
        except _NoSuchSequence:
            if sequence > self._last_sequence(path, shard):
                return []  # not written yet
            records = self._records_at(path, shard, "EARLIEST", limit)  # expired: resume at the oldest
        return [r for r in records if r.sequence >= sequence]

    def commit(self, path: str, group: str, shard: int, sequence: int) -> None:
        container, rel = split_path(path)
        if not isinstance(sequence, int) or sequence < 1:
            raise ValueError(f"commit {path!r} shard {shard}: sequence must be a positive integer, not {sequence!r}")
        what = f"commit {group} on {path} shard {shard}"
        response = self._calls.call(what, self._client.kv.update, container, rel, str(shard),
                                    attributes={committed_attribute(group): sequence - 1},
                                    condition="__obj_type == 3", update_mode="CreateOrReplaceAttributes")
        if is_condition_false(response):
            raise NotFound(f"V3IO {what}: no such stream shard")
        check(response, what)

    def committed(self, path: str, group: str, shard: int) -> int | None:
        container, rel = split_path(path)
        attribute = committed_attribute(group)
        response = self._calls.call(f"committed {group} on {path}", self._client.kv.get, container, rel,
                                    str(shard), attribute_names=[attribute])
        check(response, f"committed {group} on {path} shard {shard}")
        value = response.output.item.get(attribute)
        return None if value is None else int(value) + 1

    def _last_sequence(self, path: str, shard: int) -> int:
        container, rel = split_path(path)
        response = self._calls.call(f"shard {shard} of {path}", self._client.kv.get, container, rel, str(shard),
                                    attribute_names=["__last_sequence_num"])
        check(response, f"shard {shard} of {path}")
        return int(response.output.item.get("__last_sequence_num") or 0)

    def _records_at(self, path: str, shard: int, seek_type: str, limit: int, **seek: int) -> list[Record]:
        container, rel = split_path(path)
        what = f"seek {path} shard {shard}"
        response = self._calls.call(what, self._client.stream.seek, container, rel, shard, seek_type, **seek)
        if response.status_code == 400 and seek_type == "SEQUENCE":
            raise _NoSuchSequence
        check(response, what, ok=(200,))
        response = self._calls.call(f"get records {path} shard {shard}", self._client.stream.get_records,
                                    container, rel, shard, response.output.location, limit=limit)
        check(response, f"get records {path} shard {shard}", ok=(200,))
        return [Record(shard=shard, sequence=int(r.sequence_number), data=r.data or b"",
                       partition_key=r.partition_key,
                       arrival_ms=int(r.arrival_time_sec) * 1000 + int(r.arrival_time_nsec or 0) // 1_000_000)
                for r in response.output.records]


class _NoSuchSequence(Exception):
    """SeekShard SEQUENCE found no such record (not written yet, or expired)."""
