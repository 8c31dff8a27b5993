"""Tracked requests spread evenly over a time range, in the tracking record's shape (tests and notebooks)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def spread_requests(model: str, start_ms: int, span_ms: int, count: int, rng: np.random.Generator,
                    features: int) -> list[dict[str, Any]]:
    """``count`` requests of ``features`` normal inputs in ``[start_ms, start_ms + span_ms)``, evenly spaced, the
    last one at the range's end - 1 ms (so a window closes as soon as its last request is stored); each
    predicts ``1`` in 2 ms. Ready for :func:`modelmon.events.tracking_body`."""
    times = start_ms + np.arange(1, count + 1) * span_ms // count - 1
    return [
        {"request": {"id": f"r{t}", "inputs": [rng.normal(size=features).tolist()]},
         "resp": {"id": f"r{t}", "model_name": model, "model_version": "1", "outputs": [1]},
         "when": str(pd.Timestamp(int(t), unit="ms", tz="UTC").to_pydatetime()), "microsec": 2_000}
        for t in times
    ]
