"""The records one dispatched batch becomes: a window per record, or the windows of each shard packed.

Windows of one endpoint stay on one shard of the app's stream, run after run (the shard its id hashes to,
as a record with the id as partition key would go on the local backend), so an app function sees them
in order. A pack holds the windows of one shard in the batch's order (:func:`modelmon.functions.packing.pack`).
"""

from __future__ import annotations

from collections.abc import Sequence

from modelmon.backends.base import OutRecord
from modelmon.backends.local.streams import shard_for_key
from modelmon.functions.packing import pack


def window_records(windows: Sequence[tuple[str, bytes]], shards: int, pack_windows: int) -> list[OutRecord]:
    """The records of ``windows`` (endpoint id, window event body) for a stream of ``shards`` shards: one per
    window keyed by its endpoint when ``pack_windows`` is 1, else up to ``pack_windows`` per record and shard.

    >>> [(r.data, r.shard) for r in window_records([("a", b'{"w":1}'), ("a", b'{"w":2}')], 1, 10)]
    [(b'[{"w":1},{"w":2}]', 0)]
    >>> [(r.data, r.partition_key) for r in window_records([("a", b'{"w":1}')], 1, 1)]
    [(b'{"w":1}', 'a')]
    """
    if pack_windows <= 1:
        return [OutRecord(body, partition_key=endpoint_id) for endpoint_id, body in windows]
    by_shard: dict[int, list[bytes]] = {}
    for endpoint_id, body in windows:
        by_shard.setdefault(shard_for_key(endpoint_id, shards), []).append(body)
    return [OutRecord(data, shard=shard) for shard, bodies in sorted(by_shard.items())
            for data in pack(bodies, max_messages=pack_windows)]
