"""histogram-data-drift's default decisions on real data (scikit-learn's bundled data sets, no download).

Two random halves of one data set are noise: the decision (the worst status of the app's results)
must be ``no_detection``. Moving a fifth of the features by one standard deviation is drift: at least
``potential_detection``. ``python -m bench decisions`` reports the same on 50 seeds and more data sets.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn import datasets

from modelmon.apps.builtin import HistogramDataDriftApplication
from modelmon.apps.sdk import MonitoringApplicationContext, run_application
from modelmon.core.results import ResultStatusApp
from modelmon.stats import feature_stats

SEEDS = 20


def _decision(app: HistogramDataDriftApplication, stats: dict, window: pd.DataFrame) -> dict:
    context = MonitoringApplicationContext(
        application_name=app.NAME, project_name="decisions", endpoint_id="ep", start_infer_time=pd.Timestamp(0),
        end_infer_time=pd.Timestamp(1), sample_df=window.reset_index(drop=True), feature_stats=stats)
    return {r.name: r for r in run_application(app, context)[0]}


def _worst(results: dict) -> ResultStatusApp:
    return max(r.status for r in results.values())


@pytest.mark.parametrize("loader", [datasets.load_wine, datasets.load_breast_cancer, datasets.load_diabetes])
def test_halves_are_quiet_and_a_one_sigma_shift_of_a_fifth_of_the_features_is_seen(loader):
    data = loader(as_frame=True).data.astype(np.float64)
    app = HistogramDataDriftApplication()
    quiet = seen = 0
    for seed in range(SEEDS):
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(data))
        reference, window = data.iloc[order[: len(data) // 2]], data.iloc[order[len(data) // 2 :]]
        stats = feature_stats(reference)
        quiet += _worst(_decision(app, stats, window)) == ResultStatusApp.no_detection
        moved = rng.choice(data.columns, math.ceil(0.2 * data.shape[1]), replace=False)
        shifted = window.copy()
        shifted[moved] += data[moved].std()
        results = _decision(app, stats, shifted)
        seen += _worst(results) >= ResultStatusApp.potential_detection
        share = results["drifted_features_share"]
        assert set(moved) <= set(share.extra_data["drifted_features"]), seed  # the moved ones are flagged
        assert results["general_drift"].status == ResultStatusApp.no_detection  # MLRun's mean dilutes them
    assert quiet / SEEDS >= 0.98 and seen / SEEDS >= 0.95, (quiet, seen)


def test_features_just_past_their_threshold_are_not_a_detection():
    # Iris has four features: one flagged by chance (a 99% quantile is passed now and then) makes a share
    # of 0.25, the old potential_detection threshold. Now the flag must be strong (score >= 1.2 x its
    # threshold) for a potential_detection.
    iris = datasets.load_iris(as_frame=True).data.astype(np.float64)
    app = HistogramDataDriftApplication()
    weak = 0
    for seed in range(40):
        order = np.random.default_rng(seed).permutation(len(iris))
        share = _decision(app, feature_stats(iris.iloc[order[:75]]), iris.iloc[order[75:]])["drifted_features_share"]
        strong = share.extra_data["strongly_drifted_share"]
        assert share.status == (ResultStatusApp.potential_detection if strong >= 0.15 else ResultStatusApp.no_detection)
        weak += share.value >= 0.25 and strong == 0
    assert weak >= 2
