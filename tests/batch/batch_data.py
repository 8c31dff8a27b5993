"""Constants the batch tests share (not in conftest.py: `from conftest import` is ambiguous in a full run)."""

from __future__ import annotations

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
