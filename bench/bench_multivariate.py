"""multivariate-drift's cost per window next to histogram-data-drift's, on the same windows in one run.

Data: features driven by a few shared normal factors plus noise (so they correlate); the drifted
window flips the sign of one factor's loadings on half of the features it drives, which changes
correlations and leaves every feature's marginal distribution as it was.

- fit: building ``MultivariateDriftApplication(reference)`` (standardising, PCA, out-of-fold errors);
  the histogram app's counterpart is ``feature_stats`` of the reference (done once at registration).
- decisions on scikit-learn's data sets: a random half as reference and the other half as window,
  as it is (noise) and with a fifth of its columns each shuffled within the window (every marginal
  exactly as it was, those columns' correlations gone), for both apps.
- per window: the median wall time of ``run_application`` on a fresh context (as the app function
  builds one per window), after a first window has warmed each app's caches; the two apps' windows
  alternate, so that both see the same load.
"""

from __future__ import annotations

import collections
import functools
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn import datasets

from modelmon.apps.builtin import HistogramDataDriftApplication, MultivariateDriftApplication
from modelmon.apps.sdk import ModelMonitoringApplicationBase, MonitoringApplicationContext, run_application
from modelmon.core.results import ResultStatusApp as Status
from modelmon.stats import feature_stats

FACTORS = 4


def _frame(rng: np.random.Generator, rows: int, features: int, flipped: bool = False) -> pd.DataFrame:
    """Each feature loads on one factor (0.8) plus noise; ``flipped`` negates factor 0 on every other
    feature it drives (same marginals, other correlations)."""
    factors = rng.normal(size=(rows, FACTORS))
    loadings = np.full(features, 0.8)
    if flipped:
        loadings[[i for i in range(features) if i % FACTORS == 0][1::2]] *= -1
    values = factors[:, np.arange(features) % FACTORS] * loadings + 0.6 * rng.normal(size=(rows, features))
    return pd.DataFrame(values, columns=[f"f{i}" for i in range(features)])


def _run(app: ModelMonitoringApplicationBase, window: pd.DataFrame, stats: dict[str, Any]) -> dict[str, Any]:
    context = MonitoringApplicationContext(
        application_name=str(app.NAME), project_name="bench", endpoint_id="ep", start_infer_time=pd.Timestamp(0),
        end_infer_time=pd.Timestamp(1), sample_df=window, feature_stats=stats, feature_names=list(window.columns))
    results, _ = run_application(app, context)
    return {r.name: (r.value, int(r.status)) for r in results}


def _seconds(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _case(rows: int, features: int, repeat: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    reference, same, drifted = (_frame(rng, rows, features), _frame(rng, rows, features),
                                _frame(rng, rows, features, flipped=True))
    start = time.perf_counter()
    multivariate = MultivariateDriftApplication(reference)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    stats = feature_stats(reference)
    stats_s = time.perf_counter() - start
    histogram = HistogramDataDriftApplication()
    figures: dict[str, Any] = {"rows": rows, "features": features, "fit_s": fit_s, "feature_stats_s": stats_s}
    apps = {"multivariate": multivariate, "histogram": histogram}
    times: dict[str, list[float]] = {name: [] for name in apps}
    for name, app in apps.items():
        _run(app, same, stats)  # warm: the histogram app's no-drift thresholds for this size, imports
        figures[f"{name}_statuses"] = {"no drift": _run(app, same, stats), "correlation flipped": _run(
            app, drifted, stats)}
    for _ in range(repeat):  # alternating, so that both see the same load on a shared machine
        for name, app in apps.items():
            times[name].append(_seconds(functools.partial(_run, app, same, stats)))
    for name in apps:
        figures[f"{name}_window_s"] = statistics.median(times[name])
    figures["ratio"] = figures["multivariate_window_s"] / figures["histogram_window_s"]
    return figures


def _decisions(name: str, splits: int = 50) -> dict[str, Any]:
    """On a scikit-learn data set: one random half as reference, the other as window, as it is (noise)
    and with a fifth of its columns shuffled within the window (same marginals, correlations broken)."""
    data = getattr(datasets, f"load_{name}")(as_frame=True).data
    counts = {f"{app} {case}": collections.Counter[int]() for app in ("multivariate", "histogram")
              for case in ("noise", "shuffled")}
    for split in range(splits):
        rng = np.random.default_rng(split)
        order = rng.permutation(len(data))
        reference, window = (data.iloc[order[: len(data) // 2]].reset_index(drop=True),
                             data.iloc[order[len(data) // 2:]].reset_index(drop=True))
        shuffled = window.copy()
        for column in rng.choice(data.columns, -(-len(data.columns) // 5), replace=False):
            shuffled[column] = rng.permutation(shuffled[column].to_numpy())
        stats = feature_stats(reference)
        apps = {"multivariate": MultivariateDriftApplication(reference), "histogram": HistogramDataDriftApplication()}
        for app_name, app in apps.items():
            for case, frame in (("noise", window), ("shuffled", shuffled)):
                counts[f"{app_name} {case}"][max(status for _, status in _run(app, frame, stats).values())] += 1
    return {"data set": name, "rows": len(data), "features": data.shape[1], "splits": splits,
            **{key: {Status(k).name: v for k, v in sorted(c.items())} for key, c in counts.items()}}


def main() -> dict[str, Any]:
    """Measure, print the report and return the figures."""
    decisions = [_decisions(name) for name in ("breast_cancer", "diabetes", "digits")]
    print("scikit-learn data sets, 50 random halves each (worst status of each app's results):")
    print(f"{'data set':<14}{'rows':>5}{'feat':>5}  {'noise: no_detection':>20} {'(histogram)':>11}  "
          f"{'shuffled fifth: detected':>25} {'(histogram)':>11}")
    for row in decisions:
        apps = ("multivariate", "histogram")
        quiet = {app: row[f"{app} noise"].get("no_detection", 0) / row["splits"] for app in apps}
        found = {app: row[f"{app} shuffled"].get("detected", 0) / row["splits"] for app in apps}
        print(f"{row['data set']:<14}{row['rows']:>5}{row['features']:>5}  {quiet['multivariate']:>20.0%} "
              f"{quiet['histogram']:>11.0%}  {found['multivariate']:>25.0%} {found['histogram']:>11.0%}")
    cases = [_case(10_000, 20, repeat=50, seed=1), _case(100_000, 50, repeat=7, seed=2)]
    for case in cases:
        print(f"{case['rows']:>7,} rows x {case['features']} features: per window multivariate-drift "
              f"{case['multivariate_window_s'] * 1e3:6.2f} ms, histogram-data-drift "
              f"{case['histogram_window_s'] * 1e3:6.2f} ms (ratio {case['ratio']:.2f}); fit "
              f"{case['fit_s'] * 1e3:.0f} ms (feature_stats {case['feature_stats_s'] * 1e3:.0f} ms)")
        for label in ("no drift", "correlation flipped"):
            mv = case["multivariate_statuses"][label]["reconstruction_error"]
            hist = case["histogram_statuses"][label]
            print(f"    {label:<20} reconstruction_error {mv[0]:.3f} (status {mv[1]}); general_drift "
                  f"{hist['general_drift'][0]:.3f} (status {hist['general_drift'][1]}), drifted_features_share "
                  f"{hist['drifted_features_share'][0]:.2f} (status {hist['drifted_features_share'][1]})")
    return {"cases": cases, "decisions": decisions}


if __name__ == "__main__":
    main()
