"""histogram-data-drift's decisions on real tabular data: noise stays quiet, a one-sigma shift is seen.

For each data set bundled with scikit-learn (no download), over ``seeds`` random splits into two
halves (the first half is the reference, its ``feature_stats`` computed by modelmon):

- noise: the second half as the window; the share of seeds whose decision (the worst status of the
  app's results) is ``no_detection`` (target >= 98%), and the share of features flagged (per feature);
- shift: the same window with a fifth of the features (rounded up; features that vary) moved by one
  standard deviation; the share of seeds whose decision is at least ``potential_detection`` (target
  >= 95%) and ``detected``.

The calibrated small-window false-positive rate (per feature, 100-row windows against 10,000-row
references of mixed shapes: ``bench_calibration``) is measured on a few repetitions (target < 2%).
linnerud (20 rows: windows of 10) is left out: no rule can judge drift from ten rows.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn import datasets

from bench import bench_calibration
from modelmon.apps.builtin import HistogramDataDriftApplication
from modelmon.apps.sdk import MonitoringApplicationContext, run_application
from modelmon.core.results import ResultStatusApp
from modelmon.stats import feature_stats

LOADERS: dict[str, Callable[..., Any]] = {
    "iris": datasets.load_iris, "wine": datasets.load_wine, "breast_cancer": datasets.load_breast_cancer,
    "diabetes": datasets.load_diabetes, "digits": datasets.load_digits,
}
SHIFTED_SHARE = 0.2


def load(name: str) -> pd.DataFrame:
    """A bundled data set's features as floats."""
    data: pd.DataFrame = LOADERS[name](as_frame=True).data.astype(np.float64)
    return data


def decision(app: HistogramDataDriftApplication, stats: dict[str, Any], window: pd.DataFrame) -> tuple[int, float]:
    """The worst status of the app's results for ``window``, and its ``drifted_features_share``."""
    context = MonitoringApplicationContext(
        application_name=app.NAME, project_name="bench", endpoint_id="ep", start_infer_time=pd.Timestamp(0),
        end_infer_time=pd.Timestamp(1), sample_df=window.reset_index(drop=True), feature_stats=stats)
    results, _ = run_application(app, context)
    share = next(r.value for r in results if r.name == "drifted_features_share")
    return max(int(r.status) for r in results), float(share)


def split(data: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Reference half, window half, and the window with a fifth of the varying features moved by 1σ."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(data))
    reference, window = data.iloc[order[: len(data) // 2]], data.iloc[order[len(data) // 2 :]]
    varying = [c for c in data.columns if data[c].std() > 0]
    moved = rng.choice(varying, math.ceil(SHIFTED_SHARE * data.shape[1]), replace=False)
    shifted = window.copy()
    shifted[moved] += data[moved].std()
    return reference, window, shifted


def rates(name: str, seeds: int, app: HistogramDataDriftApplication | None = None) -> dict[str, float]:
    """Noise and shift decision rates of one data set over ``seeds`` splits."""
    app = app or HistogramDataDriftApplication()
    data = load(name)
    quiet = seen = detected = 0
    flagged: list[float] = []
    for seed in range(seeds):
        reference, window, shifted = split(data, seed)
        stats = feature_stats(reference)
        status, share = decision(app, stats, window)
        quiet += status == ResultStatusApp.no_detection
        flagged.append(share)
        status, _ = decision(app, stats, shifted)
        seen += status >= ResultStatusApp.potential_detection
        detected += status == ResultStatusApp.detected
    return {"rows": len(data), "features": data.shape[1], "seeds": seeds, "noise_no_detection": quiet / seeds,
            "noise_features_flagged": float(np.mean(flagged)), "shift_at_least_potential": seen / seeds,
            "shift_detected": detected / seeds}


def main(seeds: int = 50, calibration_references: int = 2, calibration_windows: int = 10) -> dict:
    """Measure every data set, print the table and return it."""
    start = time.perf_counter()
    table = {name: rates(name, seeds) for name in LOADERS}
    calibration = bench_calibration._rates(calibration_references, calibration_windows, 0.0, seed=100)
    small_fp = calibration[min(calibration)]["ours"]
    print(f"{'data set':<14} {'rows':>5} {'feat':>4}  {'noise: no_detection':>19} {'(features flagged)':>18}  "
          f"{'1σ shift of 20%: >=potential':>28} {'(detected)':>10}")
    for name, row in table.items():
        print(f"{name:<14} {row['rows']:>5} {row['features']:>4}  {row['noise_no_detection']:>19.0%} "
              f"{row['noise_features_flagged']:>18.1%}  {row['shift_at_least_potential']:>28.0%} "
              f"{row['shift_detected']:>10.0%}")
    print(f"targets: noise no_detection >= 98%, shift >= potential >= 95% of {seeds} seeds; calibrated false "
          f"positives at {min(calibration)} rows per feature {small_fp:.2%} (target < 2%); "
          f"{time.perf_counter() - start:.0f} s")
    return {"data_sets": table, "calibrated_small_window_false_positive": small_fp, "seeds": seeds}


if __name__ == "__main__":
    main()
