"""``histogram-data-drift``: the default app, comparing each feature's window histogram to the reference.

Results (kind ``data_drift``):

- ``general_drift``: the mean over features of (TVD + Hellinger) / 2, MLRun's definition, with MLRun's
  statuses (``potential_detection`` from 0.5, ``detected`` from 0.7). Kept for compatibility: a plain
  mean dilutes drift in a few features.
- ``drifted_features_share``: the share of features whose own score passes that feature's threshold,
  ``max(min_effect_size, null quantile of the score for this window's and the reference's sizes)``
  (see :mod:`modelmon.stats.null_threshold`), so that small windows do not flag noise. Its status
  weighs the flags' strength too: ``potential_detection`` once the features whose score is at least
  ``strong_drift_ratio`` (1.2) times their threshold make 0.15 of the scored features (one feature in
  four, two in ten, ten in sixty-four), ``detected`` when moreover the share reaches 0.5. A feature
  just past its threshold is what noise gives now and then (the threshold is a 99% quantile); one
  well past it is not: on scikit-learn's data sets two random halves stay ``no_detection`` while a
  one-sigma shift of a fifth of the features is at least ``potential_detection``
  (``python -m bench decisions``).

Metrics: ``tvd_mean``, ``hellinger_mean``, ``kld_mean``. Per-feature values, thresholds, statuses and
the reasons features could not be scored go into ``extra_data``, at most ``max_features_in_extra_data``
features each (the most drifted first); ``log_table=True`` also logs the full table as an artifact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from modelmon.apps.sdk import ModelMonitoringApplicationBase, MonitoringApplicationContext
from modelmon.apps.sdk.thresholds import Thresholds, check_threshold, thresholds
from modelmon.core.arrays import BoolArray
from modelmon.core.results import ModelMonitoringApplicationMetric, ModelMonitoringApplicationResult, ResultKindApp
from modelmon.core.results import ResultStatusApp as Status
from modelmon.stats import METRICS, DriftAssessment, assess_drift, reference_for
from modelmon.stats.distances import Distance

GENERAL_DRIFT = "general_drift"
DRIFTED_SHARE = "drifted_features_share"
NO_REFERENCE = "no reference statistics (feature_stats is empty)"
NOTHING_SCORED = "no feature could be compared"


def _drift_thresholds(name: str, potential: float, detected: float) -> Thresholds:
    """MLRun's data-drift rule (a status from its threshold on) for a score that is never negative."""
    return thresholds((potential, detected), inclusive=True, name=name, minimum=0.0)


def _rounded(value: float) -> float:
    return float(f"{value:.6g}")


class HistogramDataDriftApplication(ModelMonitoringApplicationBase):
    """Data drift per feature and overall, from histograms over the reference's bins (see the module docstring).

    :param potential_threshold: ``general_drift`` from which the status is ``potential_detection``.
    :param detected_threshold: ``general_drift`` from which the status is ``detected``.
    :param share_potential_threshold: share of *strongly* drifted features (see ``strong_drift_ratio``)
        from which ``drifted_features_share`` is ``potential_detection``.
    :param share_detected_threshold: ``drifted_features_share`` from which it is ``detected`` (when it
        is at least ``potential_detection``).
    :param strong_drift_ratio: a drifted feature counts as strongly drifted when its score is at least
        this multiple of its threshold (1 counts every drifted feature).
    :param feature_metric: the per-feature score: a name of :data:`modelmon.stats.METRICS` (default
        ``"tvd_hellinger"``) or a function ``(p, q) -> scores`` over probability matrices.
    :param min_effect_size: the smallest score that counts as drift, whatever the window size.
    :param null_quantile: the quantile of the no-drift score used as threshold (``None``: only
        ``min_effect_size``).
    :param null_draws: multinomial draws per feature and window size to estimate that quantile.
    :param seed: seed of those draws (thresholds are deterministic).
    :param value_to_status: a custom classifier of the ``general_drift`` value (instead of the two thresholds).
    :param max_features_in_extra_data: bound on the features listed in each result's ``extra_data``.
    :param log_table: also log the full per-feature table as the artifact ``features_drift_table``.
    :param mlrun_compatible_binning: bin the window exactly as MLRun 1.12 does, for comparing numbers
        with an MLRun dashboard: a value equal to a feature's reference maximum is counted *above* the
        reference range instead of in the last bin (``np.histogram``'s closed last bin, the default).
        MLRun's way inflates the drift of features that often take their maximum (two halves of the
        same binary feature get a TVD near 0.5).
    """

    NAME = "histogram-data-drift"

    def __init__(
        self,
        *,
        potential_threshold: float = 0.5,
        detected_threshold: float = 0.7,
        share_potential_threshold: float = 0.15,
        share_detected_threshold: float = 0.5,
        strong_drift_ratio: float = 1.2,
        feature_metric: str | Distance = "tvd_hellinger",
        min_effect_size: float = 0.1,
        null_quantile: float | None = 0.99,
        null_draws: int = 1000,
        seed: int = 0,
        value_to_status: Callable[[float], Status | int] | None = None,
        max_features_in_extra_data: int = 50,
        log_table: bool = False,
        mlrun_compatible_binning: bool = False,
    ) -> None:
        self._general_thresholds = _drift_thresholds(GENERAL_DRIFT, potential_threshold, detected_threshold)
        self._share_thresholds = _drift_thresholds(DRIFTED_SHARE, share_potential_threshold, share_detected_threshold)
        if isinstance(feature_metric, str):
            if feature_metric not in METRICS:
                raise ValueError(f"unknown feature_metric {feature_metric!r}; choose one of {sorted(METRICS)}")
            self._metric_name, self._metric = feature_metric, METRICS[feature_metric]
        elif callable(feature_metric):
            self._metric_name = f"custom:{getattr(feature_metric, '__name__', 'metric')}:{id(feature_metric)}"
            self._metric = feature_metric
        else:
            raise ValueError(f"feature_metric must be a metric name or a function, got {feature_metric!r}")
        check_threshold("min_effect_size", min_effect_size, minimum=0.0)
        check_threshold("strong_drift_ratio", strong_drift_ratio, minimum=1.0)
        if null_quantile is not None and not 0.5 <= null_quantile < 1:
            raise ValueError(f"null_quantile must be in [0.5, 1) or None, got {null_quantile!r}")
        if isinstance(null_draws, bool) or not isinstance(null_draws, int) or null_draws < 100:
            raise ValueError(f"null_draws must be an integer of at least 100, got {null_draws!r}")
        if value_to_status is not None and not callable(value_to_status):
            raise ValueError("value_to_status must be a function of the general_drift value")
        if isinstance(max_features_in_extra_data, bool) or not isinstance(max_features_in_extra_data, int) \
                or max_features_in_extra_data < 0:
            raise ValueError(f"max_features_in_extra_data must be a non-negative integer, "
                             f"got {max_features_in_extra_data!r}")
        if not isinstance(mlrun_compatible_binning, bool):
            raise ValueError(f"mlrun_compatible_binning must be true or false, got {mlrun_compatible_binning!r}")
        self.potential_threshold = potential_threshold
        self.detected_threshold = detected_threshold
        self.share_potential_threshold = share_potential_threshold
        self.share_detected_threshold = share_detected_threshold
        self.strong_drift_ratio = strong_drift_ratio
        self.feature_metric = feature_metric
        self.min_effect_size = min_effect_size
        self.null_quantile = null_quantile
        self.null_draws = null_draws
        self.seed = seed
        self.value_to_status = value_to_status
        self.max_features_in_extra_data = max_features_in_extra_data
        self.log_table = log_table
        self.mlrun_compatible_binning = mlrun_compatible_binning

    def do_tracking(self, monitoring_context: MonitoringApplicationContext) -> list[Any]:
        """Both drift results and the mean-distance metrics for one window."""
        reference = reference_for(monitoring_context.feature_stats)
        if not len(reference) and not reference.invalid:
            return self._irrelevant({"reason": NO_REFERENCE})
        assessment = assess_drift(
            reference, reference.histograms(monitoring_context.sample_df,
                                            last_closed=not self.mlrun_compatible_binning),
            metric_name=self._metric_name,
            metric=self._metric, min_effect_size=self.min_effect_size, null_quantile=self.null_quantile,
            null_draws=self.null_draws, seed=self.seed, expected_features=monitoring_context.feature_names,
        )
        if self.log_table:
            monitoring_context.log_artifact("features_drift_table", df=drift_table(assessment))
        scored = assessment.scored
        if not scored.any():
            return self._irrelevant({"reason": NOTHING_SCORED, "not_scored": self._bounded(assessment.reasons)})
        return self._results(assessment, scored)

    def _results(self, a: DriftAssessment, scored: BoolArray) -> list[Any]:
        tvd, hellinger = a.distances["tvd"][scored], a.distances["hellinger"][scored]
        general = float(np.mean((tvd + hellinger) / 2.0))
        if self.value_to_status is not None:
            general_status = Status(self.value_to_status(general))
        else:
            general_status = self._general_thresholds.status(general)
        drifted = a.drifted
        share = float(drifted.sum() / scored.sum())
        with np.errstate(invalid="ignore"):
            strong = drifted & (a.score >= self.strong_drift_ratio * a.threshold)
        strong_share = float(strong.sum() / scored.sum())
        order = [i for i in np.argsort(-np.nan_to_num(a.score, nan=-1.0), kind="stable") if scored[i]]
        shown = order[: self.max_features_in_extra_data]
        common = {"features_scored": int(scored.sum()), "features_shown": len(shown),
                  "not_scored": self._bounded(a.reasons)}
        features = {a.names[i]: {name: _rounded(values[i]) for name, values in a.distances.items()}
                    | {"status": int(Status.detected if drifted[i] else Status.no_detection)} for i in shown}
        general_extra = common | {"thresholds": self._general_thresholds.to_dict(), "features": features}
        share_extra = common | {
            "metric": self._metric_name if isinstance(self.feature_metric, str) else "custom",
            "min_effect_size": self.min_effect_size, "null_quantile": self.null_quantile,
            "share_thresholds": self._share_thresholds.to_dict(),
            "strong_drift_ratio": self.strong_drift_ratio, "strongly_drifted_share": _rounded(strong_share),
            "drifted_features": [a.names[i] for i in order if drifted[i]][: self.max_features_in_extra_data],
            "feature_scores": {a.names[i]: _rounded(a.score[i]) for i in shown},
            "feature_thresholds": {a.names[i]: _rounded(a.threshold[i]) for i in shown},
            "n_window": {a.names[i]: int(a.n_window[i]) for i in shown},
            "n_reference": {a.names[i]: int(a.n_reference[i]) for i in shown},
            "notes": self._bounded(a.notes),
        }
        share_status = self._share_status(share, strong_share)
        return [
            ModelMonitoringApplicationResult(GENERAL_DRIFT, general, ResultKindApp.data_drift, general_status,
                                             general_extra),
            ModelMonitoringApplicationResult(DRIFTED_SHARE, share, ResultKindApp.data_drift, share_status,
                                             share_extra),
            ModelMonitoringApplicationMetric("tvd_mean", float(np.mean(tvd))),
            ModelMonitoringApplicationMetric("hellinger_mean", float(np.mean(hellinger))),
            ModelMonitoringApplicationMetric("kld_mean", float(np.mean(a.distances["kld"][scored]))),
        ]

    def _share_status(self, share: float, strong_share: float) -> Status:
        """Potential once enough features drift strongly; detected when the share is high as well."""
        if self._share_thresholds.status(strong_share) == Status.no_detection:
            return Status.no_detection
        if self._share_thresholds.status(share) == Status.detected:
            return Status.detected
        return Status.potential_detection

    def _bounded(self, mapping: dict[str, str]) -> dict[str, str]:
        return dict(list(mapping.items())[: self.max_features_in_extra_data])

    @staticmethod
    def _irrelevant(extra_data: dict[str, Any]) -> list[Any]:
        return [ModelMonitoringApplicationResult(name, 0.0, ResultKindApp.data_drift, Status.irrelevant, extra_data)
                for name in (GENERAL_DRIFT, DRIFTED_SHARE)]


def drift_table(assessment: DriftAssessment) -> pd.DataFrame:
    """Every feature's distances, score, threshold, drift flag and reason, one row per feature."""
    table = pd.DataFrame({"feature": assessment.names, "kind": assessment.kinds} | assessment.distances
                         | {"score": assessment.score, "threshold": assessment.threshold,
                            "drifted": assessment.drifted, "n_window": assessment.n_window,
                            "n_reference": assessment.n_reference})
    table["reason"] = table["feature"].map(assessment.reasons | assessment.notes).fillna("")
    return table
