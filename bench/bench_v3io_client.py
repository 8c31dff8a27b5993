"""V3IO client path throughput against the in-repo protocol test servers (for information only).

Measures the v3io backend's own work (encoding, HTTP round trips through the real ``v3io`` client,
gRPC through ``v3io_frames``) against servers on 127.0.0.1. It does not measure V3IO: the test servers
are single-process Python, so the figures are a floor for the client path, not platform numbers.
"""

from __future__ import annotations

import pathlib
import sys
import time

import pandas as pd

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests"))

from v3io_server.stack import v3io_backend

from modelmon.backends.base import OutRecord, SeekTo

RECORDS = 20_000
RECORD_BYTES = 512
KV_ITEMS = 1_000
TSDB_ROWS = 20_000


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> dict:
    stream = "projects/bench/model-endpoints/stream"
    table = "users/pipelines/bench/model-endpoints/endpoints"
    tsdb = "users/pipelines/bench/model-endpoints/predictions"
    with v3io_backend() as opener:
        backend = opener()
        backend.streams.create(stream, shards=4)
        records = [OutRecord(bytes([i % 256]) * RECORD_BYTES, partition_key=f"ep-{i % 50}") for i in range(RECORDS)]
        put_s = _timed(lambda: backend.streams.put_records(stream, records))

        def read_all() -> None:
            for shard in range(4):
                seq = backend.streams.seek(stream, shard, SeekTo.EARLIEST)
                while batch := backend.streams.read(stream, shard, seq, limit=1000):
                    seq = batch[-1].sequence + 1

        get_s = _timed(read_all)
        kv_put_s = _timed(lambda: [backend.kv.put(table, f"k{i}", {"i": i, "name": "x"}) for i in range(KV_ITEMS)])
        kv_get_s = _timed(lambda: [backend.kv.get(table, f"k{i}") for i in range(KV_ITEMS)])
        frame = pd.DataFrame({"time": range(0, TSDB_ROWS * 1000, 1000), "endpoint_id": "ep",
                              "count": 1.0, "latency_sum_us": 5.0})
        backend.tsdb.create_table(tsdb)
        tsdb_write_s = _timed(lambda: backend.tsdb.write(tsdb, frame, ["endpoint_id"]))
        tsdb_read_s = _timed(lambda: backend.tsdb.read(tsdb, 0, TSDB_ROWS * 1000, step=60_000,
                                                        aggregators=["sum", "count"]))
        backend.close()
    figures = {
        "stream_put_records_per_s": round(RECORDS / put_s),
        "stream_get_records_per_s": round(RECORDS / get_s),
        "record_bytes": RECORD_BYTES,
        "kv_put_items_per_s": round(KV_ITEMS / kv_put_s),
        "kv_get_items_per_s": round(KV_ITEMS / kv_get_s),
        "tsdb_write_rows_per_s": round(TSDB_ROWS / tsdb_write_s),
        "tsdb_read_aggregated_s": round(tsdb_read_s, 3),
    }
    for name, value in figures.items():
        print(f"{name:>28}: {value}")
    return figures


if __name__ == "__main__":
    main()
