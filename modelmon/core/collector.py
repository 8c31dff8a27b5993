"""Python's cyclic garbage collector paused around work that allocates many short-lived containers.

Decoding a stream record or storing a pack of writer events allocates hundreds of thousands of lists, dicts
and small objects, freed by their reference counts: each 700 allocations start a collection that walks all
the young ones to free nothing. With the collector on, reading a record of 1,000 requests spent about as long
collecting as decoding, and collections were a quarter of the writer's CPU on a pack of a thousand events.
Whatever cycles the work leaves (pandas, pyarrow) are collected once the collector is back on.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_PAUSE = threading.Lock()
#: Young objects left while other threads keep the collector paused, past which they are collected anyway.
_COLLECT_AT = 200_000
_pausing = [0, False]  # threads inside collector_paused; whether the collector was enabled before the first


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic collector off for the block, for every thread inside such a block at the time; back on (if it
    was on) when the last one leaves. A thread leaving while others stay collects the young generation once it
    has grown past :data:`_COLLECT_AT` (worker threads that never all leave at once)."""
    with _PAUSE:
        if _pausing[0] == 0:
            _pausing[1] = gc.isenabled()
            gc.disable()
        _pausing[0] += 1
    try:
        yield
    finally:
        with _PAUSE:
            _pausing[0] -= 1
            if _pausing[0] == 0 and _pausing[1]:
                gc.enable()
            elif _pausing[1] and gc.get_count()[0] > _COLLECT_AT:
                gc.collect(0)
