"""Stream trigger delivery rate of the local runtime: records/s through one handler call each.

Nuclio's contract is one record per handler call with the offset committed after it returns, so
this measures the per-record overhead of the runtime (read, event building, call, commit per page) on the
local backend with a no-op handler: 1 KB records, 1 shard/1 worker and 2 shards/2 workers.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from modelmon.backends import OutRecord
from modelmon.backends.local import open_local_backend
from modelmon.local_nuclio import FunctionHost, load_bundle, load_handler
from modelmon.local_nuclio.worker import make_logger

RECORDS = 5_000
STREAM = "bench/runtime-stream"
_YAML = """\
metadata: {{name: bench-{shards}}}
spec:
  handler: bench_noop_handler:handler
  triggers:
    s:
      kind: v3ioStream
      numWorkers: {shards}
      attributes: {{containerName: bench, streamPath: runtime-stream-{shards}, shards: {shards}, seekTo: earliest,
                   readBatchSize: 500, pollingIntervalMs: 5}}
"""


def _run(root: Path, shards: int) -> float:
    bundle = root / f"bundle-{shards}"
    bundle.mkdir()
    (bundle / "function.yaml").write_text(_YAML.format(shards=shards))
    (bundle / "bench_noop_handler.py").write_text("def handler(context, event):\n    return None\n")
    backend = open_local_backend(root / "home")
    path = f"{STREAM}-{shards}"
    backend.streams.create(path, shards=shards)
    payload = b"x" * 1024
    for start in range(0, RECORDS, 1000):
        backend.streams.put_records(path, [OutRecord(payload, shard=i % shards) for i in range(start, start + 1000)])
    (spec,) = load_bundle(bundle)
    host = FunctionHost(spec, load_handler(spec), project="bench", logger=make_logger(spec.name),
                        streams=backend.streams)
    began = time.perf_counter()
    host.start()
    target = RECORDS // shards + 1
    while any((backend.streams.committed(path, spec.triggers[0].attributes.get("consumerGroup") or f"{spec.name}-s",
                                         s) or 0) < target for s in range(shards)):
        time.sleep(0.01)
    elapsed = time.perf_counter() - began
    host.stop()
    backend.close()
    return RECORDS / elapsed


def main() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        figures = {f"records_per_s_{n}_shard": round(_run(Path(tmp), n)) for n in (1, 2)}
    for name, value in figures.items():
        print(f"{name:>28}: {value:>8,} records/s (1 KB records, one handler call each, one commit per page)")
    return figures


if __name__ == "__main__":
    main()
