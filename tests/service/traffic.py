"""Labelled traffic for one window in the past, written to the tracking stream as a tracked model server would.

The 40 requests of window ``[base, base + 1 min)`` sit in its first 40 s, so storing them does not close
it (the grace period, 30 min, keeps it open by wall clock too): the labels go in first, then one more
request at the window's last millisecond moves the endpoint's watermark to its end and the controller
(every second) dispatches it. Every 4th label disagrees with the prediction: accuracy 0.75.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pandas as pd
from service_helpers import wait_for

from modelmon.backends import OutRecord
from modelmon.core.paths import ProjectPaths
from modelmon.core.timeutil import now_ms
from modelmon.events import tracking_body
from modelmon.labels.matching import label_counts

MODEL = "churn"
FUNCTION_URI = "serving/churn"
FEATURES = ["f0", "f1"]
MINUTE = 60_000
REQUESTS = 40
REFERENCE_ACCURACY = 0.95


def past_window(minutes_back: int = 10) -> int:
    """The start of a 1-minute window ``minutes_back`` minutes ago."""
    return now_ms() // MINUTE * MINUTE - minutes_back * MINUTE


def register_endpoint(project: Any) -> str:
    """The model's endpoint, with a reference (features and predictions) and its reference accuracy."""
    rng = np.random.default_rng(3)
    reference = pd.DataFrame(rng.normal(size=(200, 2)), columns=FEATURES).assign(prediction=rng.integers(0, 2, 200))
    endpoint = project.register_model_endpoint(MODEL, reference_data=reference, label_names=["prediction"],
                                               function_uri=FUNCTION_URI, model_version="1",
                                               reference_performance={"accuracy": REFERENCE_ACCURACY})
    return str(endpoint.endpoint_id)


def inputs() -> list[list[float]]:
    """The window's inputs: f0 shifted by +2 from the reference, f1 as the reference (seeded)."""
    rng = np.random.default_rng(11)
    return [[float(2.0 + rng.normal()), float(rng.normal())] for _ in range(REQUESTS + 1)]


def send_labelled_window(project: Any, endpoint_id: str, base: int) -> dict[str, Any]:
    """Send the window's requests and labels, then close it; returns what was sent."""
    rows = inputs()
    ids = [f"req-{i}" for i in range(REQUESTS)]
    predictions = [i % 2 for i in range(REQUESTS)]
    times = [base + (i + 1) * 1000 for i in range(REQUESTS)]
    send_requests(project, ids, times, rows[:REQUESTS], predictions)
    wait_for("requests ingested", lambda: project.get_model_endpoint(endpoint_id).request_count == REQUESTS)
    truth = [p if i % 4 else 1 - p for i, p in enumerate(predictions)]
    project.log_labels(MODEL, ids, truth)
    wait_for("labels matched", lambda: label_counts(project.backend, project.name, endpoint_id)
             == {"matched": REQUESTS, "pending": 0})
    send_requests(project, ["closer"], [base + MINUTE - 1], rows[REQUESTS:], [0])
    return {"ids": ids, "inputs": rows, "predictions": predictions, "truth": truth}


def send_requests(project: Any, ids: list[str], times: list[int], rows: list[list[float]],
                  predictions: list[int]) -> None:
    """One tracking record of these requests on the project's tracking stream, as a model server sends it."""
    requests = [
        {"request": {"id": rid, "inputs": [row]},
         "resp": {"id": rid, "model_name": MODEL, "model_version": "1", "outputs": [pred]},
         "when": str(pd.Timestamp(t, unit="ms", tz="UTC").to_pydatetime()), "microsec": 1_500}
        for rid, t, row, pred in zip(ids, times, rows, predictions, strict=True)
    ]
    body = tracking_body(model=MODEL, version="1", function_uri=FUNCTION_URI, requests=requests)
    project.backend.streams.put_records(ProjectPaths(project.name).tracking_stream,
                                        [OutRecord(orjson.dumps(body), partition_key=MODEL)])
