"""Tracking events shaped as MLRun 1.12's serving pusher writes them (``_ModelLogPusher`` of
``mlrun/serving/v2_serving.py``, MLRun 1.8 and later), for replaying MLRun traffic in tests.

One event per served request (no ``headers/values`` batching): the endpoint ``uid`` MLRun assigned as
``endpoint_id``, the model's name without a version, ``sampling_percentage`` and ``effective_sample_count``
(the input rows kept after sampling), ``when`` as ``datetime.isoformat(sep=" ")`` of an aware UTC time,
``microsec`` as ``timedelta.microseconds``. A request whose model raised is sent without ``resp``,
``microsec`` or ``effective_sample_count``, with the error text.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from typing import Any

HOST = "serving-7c9d5b6f4-x2x8q"


def iso_when(ms: int) -> str:
    """MLRun's ``when``: ``2024-05-01 10:00:00.250000+00:00``."""
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    return moment.isoformat(sep=" ", timespec="microseconds")


def _base(endpoint_id: str, model: str, function_uri: str, labels: dict[str, Any] | None,
          sampling_percentage: float) -> dict[str, Any]:
    base = {"class": "SKLearnModelServer", "worker": 0, "model": model, "host": HOST, "function_uri": function_uri,
            "endpoint_id": endpoint_id, "sampling_percentage": sampling_percentage}
    if labels:
        base["labels"] = labels
    return base


def served(endpoint_id: str, model: str, function_uri: str, request_id: str, rows: Sequence[Sequence[float]],
           outputs: Sequence[Any], when_ms: int, *, latency_us: int = 1500, labels: dict[str, Any] | None = None,
           sampling_percentage: float = 100.0, effective_sample_count: int | None = None) -> dict[str, Any]:
    """A served request: ``rows`` of features in, one output per row."""
    event = _base(endpoint_id, model, function_uri, labels, sampling_percentage)
    event.update({
        "request": {"inputs": [list(row) for row in rows], "id": request_id},
        "op": "infer",
        "resp": {"id": request_id, "model_name": model, "outputs": list(outputs),
                 "timestamp": iso_when(when_ms)},
        "when": iso_when(when_ms),
        "microsec": latency_us % 1_000_000,
        "effective_sample_count": len(rows) if effective_sample_count is None else effective_sample_count,
    })
    return event


def failed(endpoint_id: str, model: str, function_uri: str, request_id: str, rows: Sequence[Sequence[float]],
           when_ms: int, error: str, *, labels: dict[str, Any] | None = None,
           sampling_percentage: float = 100.0) -> dict[str, Any]:
    """A request whose model raised ``error``."""
    event = _base(endpoint_id, model, function_uri, labels, sampling_percentage)
    event.update({"request": {"inputs": [list(row) for row in rows], "id": request_id}, "op": "infer",
                  "when": iso_when(when_ms), "error": error})
    return event


def encoded(event: dict[str, Any]) -> bytes:
    """The stream record's bytes (MLRun's pusher writes the JSON of the event)."""
    return json.dumps(event).encode("utf-8")
