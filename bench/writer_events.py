"""The writer events the writer benchmarks feed it (``bench_writer``, ``bench_alerts``, ``bench_postgres``)."""

from __future__ import annotations

from modelmon.core.results import ModelMonitoringApplicationResult, ResultKindApp, ResultStatusApp
from modelmon.events import WriterEvent

PERIOD = 10 * 60_000
T0 = 1_700_000_000_000 // PERIOD * PERIOD


def writer_events(round_: int, count: int, *, endpoints: int = 20, results: int = 50,
                  project: str = "bench") -> list[WriterEvent]:
    """The windows of ``round_``: ``count`` events over ``endpoints`` endpoints, later than earlier rounds', each
    with ``results`` results, mostly ``no_detection``, every 10th ``detected``, every 7th suspected."""
    out = []
    for i in range(count):
        k = round_ * count + i
        start = T0 + (k // endpoints) * PERIOD
        values = tuple(ModelMonitoringApplicationResult(
            f"feature_{r}", 0.01 * ((k + r) % 100), ResultKindApp.data_drift,
            ResultStatusApp.detected if (k + r) % 10 == 0 else
            ResultStatusApp.potential_detection if (k + r) % 7 == 0 else ResultStatusApp.no_detection)
            for r in range(results))
        out.append(WriterEvent(project, f"ep{k % endpoints}", "drift", start, start + PERIOD, values,
                               endpoint_name=f"model-{k % endpoints}"))
    return out
