"""A batch-inference result as a few lines of text: what was recorded where, against which reference, what drifted."""

from __future__ import annotations

from modelmon.batch.inference import BatchInferenceResult
from modelmon.batch.reference import Reference
from modelmon.core.results import ResultStatusApp
from modelmon.core.timeutil import from_ms

_REFERENCE = {
    Reference.GIVEN: "the reference data given (registered as the endpoint's reference)",
    Reference.BATCH: "this batch itself (--self-reference / self_reference=True): the batch is compared with itself",
    Reference.ENDPOINT: "the endpoint's registered reference",
    Reference.NONE: "none (drift apps answer irrelevant; --reference FILE or --self-reference sets one)",
}


def render_summary(result: BatchInferenceResult) -> str:
    """Endpoint, rows, reference, then per analysed window each result's status name and value."""
    lines = [
        f"recorded {result.rows} rows into endpoint {result.endpoint_name} ({result.endpoint_id}), "
        f"batch {result.batch_id}",
        f"  event times {_time(result.first_ms)} .. {_time(result.last_ms)}; predictions: {result.predictions_path}",
        f"  reference: {_REFERENCE.get(result.reference, result.reference)}",
    ]
    drift = result.drift
    if drift is None:
        return "\n".join(lines)
    minutes = drift.period_ms // 60_000
    lines.append(f"{drift.app_name}: {len(drift.events)} window(s) of {minutes} min analysed and stored; "
                 f"endpoint drift status: {result.drift_status}")
    for event in drift.events:
        window = f"{from_ms(event.start_ms):%Y-%m-%d %H:%M}-{from_ms(event.end_ms):%H:%M}"
        if event.error is not None:
            lines.append(f"  {window}  failed: {event.error}")
        for i, r in enumerate(event.results):
            label = window if i == 0 else ""
            lines.append(f"  {label:<22} {r.name:<24} {ResultStatusApp(r.status).name:<20} {r.value:.4g}")
    for start, end in drift.pending:
        lines.append(f"  {from_ms(start):%Y-%m-%d %H:%M}-{from_ms(end):%H:%M}  not closed yet: left to the controller")
    return "\n".join(lines)


def _time(ms: int) -> str:
    return f"{from_ms(ms):%Y-%m-%d %H:%M:%S}Z"
