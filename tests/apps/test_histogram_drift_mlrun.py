"""histogram-data-drift against MLRun 1.12.1's published numbers on real data, and its MLRun 1.7+ output shape.

The ``_mlrun_*`` helpers below are this test's own implementation of what MLRun 1.12.1 documents and does
(no MLRun code is imported or copied):

- reference ``feature_stats``: ``DataFrame.describe()`` statistics and ``np.histogram(column, bins=20)``,
  padded by ``pad_features_hist`` with an empty outer bin on each side whose outer edge is
  ``±sys.float_info.max`` (or ``±inf``, as other producers write it);
- the window's histogram (``calculate_inputs_statistics``): ``np.histogram`` of the window's column over
  the padded reference edges, so a value equal to the reference maximum falls in the closed outer bin
  ``[max, +float max]``; probabilities are counts divided by the ``count`` statistic (non-missing values);
- per feature: TVD ``Σ|t−u|/2``; Hellinger ``sqrt(max(1 − Σ sqrt(t·u), 0))``; KLD ``KL(t‖u) + KL(u‖t)``,
  natural log, terms where the first distribution is 0 dropped, zeros of the second replaced by 1e-4;
- metrics ``hellinger_mean``, ``kld_mean``, ``tvd_mean`` (means over features), result ``general_drift``
  = the mean of ``hellinger_mean`` and ``tvd_mean``, kind ``data_drift``, statuses from 0.5 and 0.7.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from sklearn import datasets

from modelmon.apps.builtin import HistogramDataDriftApplication
from modelmon.apps.sdk import MonitoringApplicationContext, run_application
from modelmon.core.results import ModelMonitoringApplicationMetric, ResultKindApp, ResultStatusApp
from modelmon.stats import METRICS, assess_drift, reference_for
from modelmon.stats.distances import ZERO_SCALING

TOLERANCE = 1e-9
LOADERS = {"iris": datasets.load_iris, "wine": datasets.load_wine, "breast_cancer": datasets.load_breast_cancer,
           "diabetes": datasets.load_diabetes, "digits": datasets.load_digits, "linnerud": datasets.load_linnerud}
PADDINGS = {"float_max": sys.float_info.max, "inf": np.inf}


def _data(name: str) -> pd.DataFrame:
    return LOADERS[name](as_frame=True).data.astype(np.float64)  # bundled with scikit-learn: no download


def _mlrun_feature_stats(reference: pd.DataFrame, pad: float) -> dict:
    stats = {}
    for name, column in reference.items():
        entry = {key: float(value) for key, value in column.describe().items()}
        counts, edges = np.histogram(column.to_numpy(), bins=20)
        entry["hist"] = [[0, *counts.tolist(), 0], [-pad, *edges.tolist(), pad]]
        stats[str(name)] = entry
    return stats


def _mlrun_kl(actual: np.ndarray, expected: np.ndarray) -> float:
    kept = actual != 0
    actual, expected = actual[kept], expected[kept]
    return float(np.sum(actual * np.log(actual / np.where(expected != 0, expected, 1e-4))))


def _max_in_last_bin(values: np.ndarray, edges: list[float]) -> np.ndarray:
    """Difference (c): the padded histogram with the reference maximum in the last inner bin."""
    inner = np.asarray(edges[1:-1])
    within, _ = np.histogram(values, bins=inner)
    return np.array([np.sum(values < inner[0]), *within, np.sum(values > inner[-1])])


def _mlrun_numbers(stats: dict, window: pd.DataFrame, max_in_last_bin: bool = False) -> dict:
    per_feature = {}
    for name, entry in stats.items():
        values = window[name].to_numpy()
        if max_in_last_bin:
            counts = _max_in_last_bin(values, entry["hist"][1])
        else:
            counts, _ = np.histogram(values, bins=entry["hist"][1])
        t = counts / np.count_nonzero(~np.isnan(values))
        u = np.asarray(entry["hist"][0]) / entry["count"]
        per_feature[name] = {"tvd": np.sum(np.abs(t - u)) / 2,
                             "hellinger": np.sqrt(max(1 - np.sum(np.sqrt(u * t)), 0)),
                             "kld": _mlrun_kl(t, u) + _mlrun_kl(u, t)}
    means = {f"{metric}_mean": float(np.mean([f[metric] for f in per_feature.values()]))
             for metric in ("hellinger", "kld", "tvd")}
    return {"features": per_feature, **means,
            "general_drift": float(np.mean([means["hellinger_mean"], means["tvd_mean"]]))}


def _windows(data: pd.DataFrame, seed: int) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """Reference and window pairs: random halves, a quarter of the features moved by 1σ, missing values."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(data))
    reference, window = data.iloc[order[: len(data) // 2]], data.iloc[order[len(data) // 2 :]]
    shifted = window.copy()
    moved = rng.choice(data.columns, max(1, len(data.columns) // 4), replace=False)
    shifted[moved] += data[moved].std()
    holes = window.mask(rng.random(window.shape) < 0.1)
    return {"halves": (reference, window), "shifted": (reference, shifted), "missing": (reference, holes),
            "whole": (reference, data)}


def _run(app: HistogramDataDriftApplication, stats: dict, window: pd.DataFrame) -> tuple[dict, dict]:
    context = MonitoringApplicationContext(
        application_name=app.NAME, project_name="parity", endpoint_id="ep", start_infer_time=pd.Timestamp(0),
        end_infer_time=pd.Timestamp(1), sample_df=window.reset_index(drop=True), feature_stats=stats)
    results, metrics = run_application(app, context)
    return {r.name: r for r in results}, {m.name: m for m in metrics}


@pytest.mark.parametrize("padding", sorted(PADDINGS))
@pytest.mark.parametrize("name", sorted(LOADERS))
def test_mlrun_compatible_binning_gives_mlruns_numbers_to_1e_9(name, padding):
    # The per-feature thresholds do not change the values: not simulated here, to keep the test short.
    app = HistogramDataDriftApplication(mlrun_compatible_binning=True, null_quantile=None)
    for seed in (0, 1):
        for case, (reference, window) in _windows(_data(name), seed).items():
            stats = _mlrun_feature_stats(reference, PADDINGS[padding])
            expected = _mlrun_numbers(stats, window)
            results, metrics = _run(app, stats, window)
            where = (name, padding, seed, case)
            assert results["general_drift"].value == pytest.approx(expected["general_drift"], abs=TOLERANCE), where
            for metric in ("hellinger_mean", "kld_mean", "tvd_mean"):
                assert metrics[metric].value == pytest.approx(expected[metric], abs=TOLERANCE), (where, metric)
            reference_stats = reference_for(stats)
            assessment = assess_drift(reference_stats, reference_stats.histograms(window, last_closed=False),
                                      metric_name="tvd_hellinger", metric=METRICS["tvd_hellinger"],
                                      null_quantile=None)
            for i, feature in enumerate(assessment.names):
                for metric in ("tvd", "hellinger", "kld"):
                    assert assessment.distances[metric][i] == pytest.approx(
                        expected["features"][feature][metric], abs=TOLERANCE), (where, feature, metric)


def test_kld_uses_mlruns_zero_scaling_and_natural_log():
    assert ZERO_SCALING == 1e-4
    p, q = np.array([[0.5, 0.5, 0.0]]), np.array([[0.5, 0.0, 0.5]])
    expected = _mlrun_kl(p[0], q[0]) + _mlrun_kl(q[0], p[0])
    assert expected == pytest.approx(2 * 0.5 * np.log(0.5 / 1e-4))
    assert float(METRICS["kld"](p, q)[0]) == pytest.approx(expected, abs=TOLERANCE)


@pytest.mark.parametrize("name", ["diabetes", "digits", "iris"])
def test_by_default_a_window_value_equal_to_the_reference_maximum_stays_in_the_last_bin(name):
    # Difference (c): MLRun's window histogram counts the reference maximum above the range (its last
    # padded bin is [max, +float max], closed); modelmon keeps it in the last bin, as np.histogram does
    # for the reference itself. Everything else is MLRun's formula.
    reference, window = _windows(_data(name), 0)["halves"]
    stats = _mlrun_feature_stats(reference, sys.float_info.max)
    expected = _mlrun_numbers(stats, window)
    closed = _mlrun_numbers(stats, window, max_in_last_bin=True)
    results, metrics = _run(HistogramDataDriftApplication(), stats, window)
    assert results["general_drift"].value == pytest.approx(closed["general_drift"], abs=TOLERANCE)
    assert metrics["tvd_mean"].value == pytest.approx(closed["tvd_mean"], abs=TOLERANCE)
    assert results["general_drift"].value < expected["general_drift"]  # ties at the maximum are common here


def test_two_halves_of_a_binary_feature_drift_only_in_mlruns_binning():
    sex = _data("diabetes")[["sex"]]  # two values: every value is the minimum or the maximum
    reference, window = _windows(sex, 3)["halves"]
    stats = _mlrun_feature_stats(reference, sys.float_info.max)
    mlrun = _mlrun_numbers(stats, window)["features"]["sex"]
    assert mlrun["tvd"] > 0.4  # MLRun: every window value at the maximum counts as outside the reference
    ours = _run(HistogramDataDriftApplication(), stats, window)[1]["tvd_mean"].value
    exact = _run(HistogramDataDriftApplication(mlrun_compatible_binning=True), stats, window)[1]["tvd_mean"].value
    assert ours < 0.05 and exact == pytest.approx(mlrun["tvd"], abs=TOLERANCE)


def test_output_has_mlruns_1_7_shape_and_keeps_modelmons_extra_result():
    reference, window = _windows(_data("wine"), 0)["shifted"]
    stats = _mlrun_feature_stats(reference, sys.float_info.max)
    app = HistogramDataDriftApplication()
    assert app.NAME == "histogram-data-drift"
    results, metrics = _run(app, stats, window)
    general = results["general_drift"]
    assert general.kind == ResultKindApp.data_drift and general.status in set(ResultStatusApp)
    assert isinstance(general.value, float) and 0.0 <= general.value <= 1.0
    assert general.value == pytest.approx((metrics["hellinger_mean"].value + metrics["tvd_mean"].value) / 2,
                                          abs=TOLERANCE)
    assert sorted(metrics) == ["hellinger_mean", "kld_mean", "tvd_mean"]
    assert all(isinstance(m, ModelMonitoringApplicationMetric) and isinstance(m.value, float)
               for m in metrics.values())
    assert set(results) == {"general_drift", "drifted_features_share"}
    assert results["drifted_features_share"].kind == ResultKindApp.data_drift
