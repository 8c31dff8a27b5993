"""Synthetic traffic with five regions of different feature levels, for the segment and impact tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelmon.apps.sdk import MonitoringApplicationContext, run_application

REGIONS = list("abcde")
FEATURES = ["region", "f0", "f1", "f2", "f3"]


def traffic(seed: int, n: int, *, shifted_region: str | None = None, shift: float = 1.0,
            regions: list[str] | None = None) -> pd.DataFrame:
    """``n`` rows: regions a..e (uniform), ``f0..f3`` normal around a level set by the region (region e's
    sits 2 sigma above a's), ``prediction`` driven by ``f0`` (and a little ``f2``). ``shifted_region``'s
    ``f0`` and ``f1`` move up by ``shift`` sigma."""
    rng = np.random.default_rng(seed)
    region = rng.choice(regions or REGIONS, n)
    level = pd.Series(region).map({r: 0.5 * i for i, r in enumerate(REGIONS)}).to_numpy()
    frame = pd.DataFrame({"region": region} | {f"f{i}": level + rng.normal(0.0, 1.0, n) for i in range(4)})
    if shifted_region is not None:
        moved = frame["region"] == shifted_region
        frame.loc[moved, ["f0", "f1"]] += shift
    frame["prediction"] = (frame["f0"] + 0.2 * frame["f2"] > 1.0).astype(int)
    return frame


def run(app: object, window: pd.DataFrame, stats: dict) -> dict:
    """The app's results on ``window`` by name."""
    context = MonitoringApplicationContext(
        application_name="histogram-data-drift", project_name="test", endpoint_id="ep1",
        start_infer_time=pd.Timestamp("2024-01-01"), end_infer_time=pd.Timestamp("2024-01-01 01:00"),
        sample_df=window, feature_stats=stats, feature_names=FEATURES, label_names=["prediction"])
    results, _ = run_application(app, context)
    return {r.name: r for r in results}
