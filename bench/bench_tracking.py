"""Tracking overhead per request: median added latency of a tracked model server (sampling 100%).

The same trivial model server (4 features in, 1 output) answers requests through ``do_event``, once
untracked and once tracked into the local backend's tracking stream (batches of 100, pushed by the
background thread); calls alternate between the two so both see the same machine load. Also measured:
the ``@tracked`` handler wrapper against the bare handler. Target (issue 5): ≤ 50 µs median added.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from types import SimpleNamespace

import nuclio_sdk

from modelmon.backends.local import open_local_backend
from modelmon.tracking import ModelServer, TrackedModel, TrackingClient, tracked

REQUESTS = 20_000
WARMUP = 1_000
TARGET_US = 50.0
ROW = [5.1, 3.5, 1.4, 0.2]


class _Server(ModelServer):
    def predict(self, request: dict) -> list[int]:
        return [int(sum(row) > 10) for row in request["inputs"]]


def _handler(context: nuclio_sdk.Context, event: nuclio_sdk.Event) -> dict:
    return {"outputs": [int(sum(row) > 10) for row in event.body["inputs"]]}


def _alternate(plain, with_tracking, events) -> tuple[float, float]:
    """Median µs per call of each, calls interleaved."""
    plain_ns, tracked_ns = [], []
    for i, event in enumerate(events):
        for call, out in ((plain, plain_ns), (with_tracking, tracked_ns)) if i % 2 else (
                (with_tracking, tracked_ns), (plain, plain_ns)):
            start = time.perf_counter_ns()
            call(event)
            out.append(time.perf_counter_ns() - start)
    return statistics.median(plain_ns[WARMUP:]) / 1000, statistics.median(tracked_ns[WARMUP:]) / 1000


def main() -> dict:
    home = tempfile.mkdtemp(prefix="modelmon-bench-tracking-")
    backend = open_local_backend(home)
    try:
        events = [nuclio_sdk.Event(body={"inputs": [ROW], "id": f"r{i}"}, _id=f"e{i}") for i in range(REQUESTS)]
        plain = _Server("bench", project="bench", streams=backend.streams)
        tracked_server = _Server("bench", project="bench", streams=backend.streams)
        client = tracked_server.set_tracking(batch=100, buffer_size=REQUESTS * 2)
        server_plain_us, server_tracked_us = _alternate(plain.do_event, tracked_server.do_event, events)
        tracked_server.close()
        server_stats = client.stats()

        handler_client = TrackingClient(backend.streams, "projects/bench/model-endpoints/stream",
                                        TrackedModel("bench-handler", "bench/serving"), buffer_size=REQUESTS * 2)
        context = SimpleNamespace(user_data=SimpleNamespace(tracking=handler_client))
        wrapped = tracked(_handler)
        handler_plain_us, handler_tracked_us = _alternate(lambda e: _handler(context, e),
                                                          lambda e: wrapped(context, e), events)
        handler_client.close()
    finally:
        backend.close()
        shutil.rmtree(home, ignore_errors=True)
    server_added = server_tracked_us - server_plain_us
    handler_added = handler_tracked_us - handler_plain_us
    figures = {
        "requests": REQUESTS,
        "server_untracked_median_us": round(server_plain_us, 2),
        "server_tracked_median_us": round(server_tracked_us, 2),
        "server_added_median_us": round(server_added, 2),
        "handler_untracked_median_us": round(handler_plain_us, 2),
        "handler_tracked_median_us": round(handler_tracked_us, 2),
        "handler_added_median_us": round(handler_added, 2),
        "pushed": server_stats["pushed"], "records": server_stats["records"], "dropped": server_stats["dropped"],
        "target_added_us": TARGET_US,
        "meets_target": max(server_added, handler_added) <= TARGET_US,
    }
    print(f"tracking overhead, {REQUESTS:,} requests each, sampling 100%, local backend stream:")
    print(f"  ModelServer.do_event: untracked {server_plain_us:7.2f} µs, tracked {server_tracked_us:7.2f} µs"
          f" -> added {server_added:6.2f} µs (median)")
    print(f"  @tracked handler:     untracked {handler_plain_us:7.2f} µs, tracked {handler_tracked_us:7.2f} µs"
          f" -> added {handler_added:6.2f} µs (median)")
    print(f"  pushed {server_stats['pushed']:,} requests in {server_stats['records']:,} records, "
          f"dropped {server_stats['dropped']}")
    print(f"  target <= {TARGET_US} µs added: {'met' if figures['meets_target'] else 'NOT met'}")
    return figures


if __name__ == "__main__":
    main()
