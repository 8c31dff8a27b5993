"""A ``seekTo: earliest`` stream trigger starting on V3IO reads a record that arrives while it seeks its start.

The trigger's first start seeks EARLIEST on the shard (SeekShard, GetRecords of one record, the shard's end
when there is none) and commits that position. The notebook deploy test sends its first tracking record as
soon as the functions report ready, which is when this seek runs: a record put between the empty read and
the end's lookup was counted in the end, the trigger started after it, and the stream function never ingested
it (the endpoint showed the second record's 4 requests only, and windows 1 and 2 never came).
"""

from __future__ import annotations

import base64
import json

from runtime_fixtures import BUNDLES, wait_for
from v3io_server import stream_functions
from v3io_server.stack import V3ioOpener, running_servers
from v3io_server.store import Store

from modelmon.local_nuclio.handler import load_handler
from modelmon.local_nuclio.host import FunctionHost
from modelmon.local_nuclio.spec import load_bundle
from modelmon.local_nuclio.worker import make_logger

STREAM = "projects/test/model-endpoints/stream"


def _append_late(store: Store) -> None:
    """What the producer does while the trigger seeks: append one record to shard 0."""
    data = base64.b64encode(json.dumps({"id": "late"}).encode()).decode()
    stream_functions.put_records(store, STREAM, {"Records": [{"Data": data, "ShardId": 0}]})


def test_a_record_put_while_the_trigger_seeks_earliest_is_delivered():
    with running_servers() as (web, frames):
        backend = V3ioOpener(api=web.url, framesd=frames.address, port=web.port)()
        try:
            backend.streams.create(STREAM, shards=1)  # one shard: the trigger's first GetRecords is its seek's
            web.after_next("GetRecords", _append_late)
            (spec,) = load_bundle(BUNDLES / "demo", ["consumer"])
            handler = load_handler(spec)
            handler.module.SEEN.clear()
            host = FunctionHost(spec, handler, project="test", logger=make_logger("consumer"),
                                streams=backend.streams, retry_backoff_s=0.01)
            host.start()
            try:
                wait_for(lambda: [e["id"] for e in handler.module.SEEN] == ["late"], what="the late record")
            finally:
                host.stop()
            assert backend.streams.committed(STREAM, "consumer", 0) == 2
        finally:
            backend.close()
