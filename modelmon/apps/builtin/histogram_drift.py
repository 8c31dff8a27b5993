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

Drift ranked by impact: the drifted features, each with its drift (the per-feature score), its
importance and their product, ``impact``, highest first, are ``impact_ranking`` in
``drifted_features_share``'s ``extra_data``; the first is named as ``top_culprit`` in both results'
``extra_data``. Importance is ``feature_importance`` (given) or, from ``reference_data``, the mutual
information of each feature with the prediction (:mod:`modelmon.stats.importance`), scaled so that the
most important feature has 1. Without either, the ranking is by drift alone (importance ``None``).

Segments (``segment_by=[columns]``, needs ``reference_data``): each of the ``max_segments`` most
frequent value combinations of the reference (the rest as ``"other"``) is compared with its own
reference rows (:mod:`modelmon.apps.builtin.histogram_segments`); a third result, ``segment_drift``,
has the worst segment's drifted share and status and the worst ``max_segments_in_extra_data``
segments in ``extra_data``; and ``drifted_features_share``'s status is raised to
``potential_detection`` when a segment drifts though the whole does not (``escalated_by_segment``).

Metrics: ``tvd_mean``, ``hellinger_mean``, ``kld_mean``. Per-feature values, thresholds, statuses and
the reasons features could not be scored go into ``extra_data``, at most ``max_features_in_extra_data``
features each (the most drifted first); ``log_table=True`` also logs the full table as an artifact.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from modelmon.apps.builtin.histogram_importance import FeatureImportance
from modelmon.apps.builtin.histogram_segments import (
    SegmentReferences,
    corrected_quantile,
    segment_drift_result,
    with_segment_noise,
)
from modelmon.apps.reference_rows import ReferenceFits
from modelmon.apps.sdk import ModelMonitoringApplicationBase, MonitoringApplicationContext
from modelmon.apps.sdk.thresholds import Thresholds, check_threshold, thresholds
from modelmon.apps.segments import MAX_SEGMENTS, SegmentReport, check_segment_by
from modelmon.core.arrays import BoolArray
from modelmon.core.results import ModelMonitoringApplicationMetric, ModelMonitoringApplicationResult, ResultKindApp
from modelmon.core.results import ResultStatusApp as Status
from modelmon.stats import METRICS, DriftAssessment, Reference, assess_drift, reference_for
from modelmon.stats.distances import Distance
from modelmon.stats.importance import impact_ranking

GENERAL_DRIFT = "general_drift"
DRIFTED_SHARE = "drifted_features_share"
SEGMENT_DRIFT = "segment_drift"
NO_REFERENCE = "no reference statistics (feature_stats is empty)"
NOTHING_SCORED = "no feature could be compared"


def _drift_thresholds(name: str, potential: float, detected: float) -> Thresholds:
    """MLRun's data-drift rule (a status from its threshold on) for a score that is never negative."""
    return thresholds((potential, detected), inclusive=True, name=name, minimum=0.0)


def _rounded(value: float) -> float:
    return float(f"{value:.6g}")


def _rounded_all(values: list[float]) -> list[float]:
    """``_rounded`` of each value, formatted in one ``%`` (``"%.6g"`` writes what ``f"{v:.6g}"`` does): a
    Python call per value was a tenth of a 10k x 20 window's time."""
    if not values:
        return []
    return list(map(float, (",".join(["%.6g"] * len(values)) % tuple(values)).split(",")))


def _count(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer of at least {minimum}, got {value!r}")
    return value


NO_SEGMENT_ROWS = ("segment_by needs reference rows (with the segment columns): register the endpoint with "
                   "reference_data=<DataFrame>, or give the app reference_data=")


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
    :param feature_importance: ``{feature: importance}`` (non-negative numbers, any scale) to rank
        drifted features by impact; features left out have no importance.
    :param reference_data: the reference rows (a DataFrame, or a parquet/CSV path for a deployed app):
        for estimating importance when ``feature_importance`` is not given, and for ``segment_by``.
    :param prediction_column: the model output importance is estimated against; default the first of
        the endpoint's ``label_names`` in ``reference_data``, else ``prediction``.
    :param segment_by: columns whose values split the traffic into segments, each judged on its own.
    :param max_segments: bound on the segments (most frequent value combinations in the reference).
    :param max_segments_in_extra_data: how many of the worst segments ``segment_drift`` lists.
    :param min_segment_rows: a segment with fewer window rows is not judged (too little to tell).
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
        feature_importance: Mapping[str, float] | None = None,
        reference_data: pd.DataFrame | str | None = None,
        prediction_column: str | None = None,
        segment_by: Sequence[str] | str | None = None,
        max_segments: int = MAX_SEGMENTS,
        max_segments_in_extra_data: int = 5,
        min_segment_rows: int = 30,
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
        self.feature_importance = feature_importance
        self.prediction_column = prediction_column
        self.reference_data = reference_data
        self.segment_by = None if segment_by is None else check_segment_by(segment_by)
        self.max_segments = _count("max_segments", max_segments, 1)
        self.max_segments_in_extra_data = _count("max_segments_in_extra_data", max_segments_in_extra_data, 0)
        self.min_segment_rows = _count("min_segment_rows", min_segment_rows, 1)
        self._no_rows: tuple[FeatureImportance, SegmentReferences | None] = (
            FeatureImportance(feature_importance, None, prediction_column), None)
        self._importance: FeatureImportance = self._no_rows[0]
        self._segments: SegmentReferences | None = None
        # reference_data's rows when given (fitted now), else each endpoint's registered rows (fitted per endpoint)
        self._rows_fits = ReferenceFits(reference_data, self._fit_rows)

    def _fit_rows(self, rows: pd.DataFrame) -> tuple[FeatureImportance, SegmentReferences | None]:
        segments = None if self.segment_by is None else SegmentReferences(rows, self.segment_by,
                                                                          max_segments=self.max_segments)
        return FeatureImportance(self.feature_importance, rows, self.prediction_column), segments

    def do_tracking(self, monitoring_context: MonitoringApplicationContext) -> list[Any]:
        """Both drift results and the mean-distance metrics for one window."""
        self._importance, self._segments = self._rows_fits.get(monitoring_context).value or self._no_rows
        reference = reference_for(monitoring_context.reference_feature_stats)
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
        importance, source = self._importance.of(reference.names, monitoring_context.label_names)
        results = self._results(assessment, scored, importance, source)
        if self.segment_by is not None:
            results.insert(2, self._segment_result(monitoring_context, results[1], importance))
        return results

    @staticmethod
    def _shares(a: DriftAssessment, scored: BoolArray, drifted: BoolArray, strong_ratio: float) -> tuple[float, float]:
        """The drifted share and the strongly drifted share of the scored features."""
        rows = np.flatnonzero(drifted)  # scored, so neither NaN nor compared with NaN
        strong = int(np.count_nonzero(a.score[rows] >= strong_ratio * a.threshold[rows]))
        return float(rows.size / scored.sum()), float(strong / scored.sum())

    @staticmethod
    def _order(a: DriftAssessment, scored: BoolArray) -> list[int]:
        """The scored features, highest score first."""
        is_scored = scored.tolist()
        return [i for i in np.argsort(-np.nan_to_num(a.score, nan=-1.0), kind="stable").tolist() if is_scored[i]]

    @staticmethod
    def _ranking(a: DriftAssessment, order: list[int], drifted: list[bool],
                 importance: Mapping[str, float]) -> list[dict[str, float | str | None]]:
        ranked = [i for i in order if drifted[i]]
        scores = _rounded_all(a.score[ranked].tolist())
        return impact_ranking({a.names[i]: score for i, score in zip(ranked, scores, strict=True)}, importance)

    def _results(self, a: DriftAssessment, scored: BoolArray, importance: Mapping[str, float],
                 importance_source: str) -> list[Any]:
        tvd, hellinger = a.distances["tvd"][scored], a.distances["hellinger"][scored]
        general = float(np.mean((tvd + hellinger) / 2.0))
        if self.value_to_status is not None:
            general_status = Status(self.value_to_status(general))
        else:
            general_status = self._general_thresholds.status(general)
        drifted = a.drifted
        share, strong_share = self._shares(a, scored, drifted, self.strong_drift_ratio)
        is_drifted = drifted.tolist()
        order = self._order(a, scored)
        shown = order[: self.max_features_in_extra_data]
        names = [a.names[i] for i in shown]
        ranking = self._ranking(a, order, is_drifted, importance)
        culprit = ranking[0]["feature"] if ranking else None
        common = {"features_scored": int(scored.sum()), "features_shown": len(shown),
                  "not_scored": self._bounded(a.reasons), "top_culprit": culprit}
        distances = {name: _rounded_all(values[shown].tolist()) for name, values in a.distances.items()}
        features = {feature: {name: column[k] for name, column in distances.items()}
                    | {"status": int(Status.detected if is_drifted[i] else Status.no_detection)}
                    for k, (i, feature) in enumerate(zip(shown, names, strict=True))}
        general_extra = common | {"thresholds": self._general_thresholds.to_dict(), "features": features}
        weighed = [feature for feature in names if feature in importance]
        share_extra = common | {
            "metric": self._metric_name if isinstance(self.feature_metric, str) else "custom",
            "min_effect_size": self.min_effect_size, "null_quantile": self.null_quantile,
            "share_thresholds": self._share_thresholds.to_dict(),
            "strong_drift_ratio": self.strong_drift_ratio, "strongly_drifted_share": _rounded(strong_share),
            "drifted_features": [a.names[i] for i in order if is_drifted[i]][: self.max_features_in_extra_data],
            "feature_scores": dict(zip(names, _rounded_all(a.score[shown].tolist()), strict=True)),
            "feature_thresholds": dict(zip(names, _rounded_all(a.threshold[shown].tolist()), strict=True)),
            "n_window": dict(zip(names, map(int, a.n_window[shown].tolist()), strict=True)),
            "n_reference": dict(zip(names, map(int, a.n_reference[shown].tolist()), strict=True)),
            "notes": self._bounded(a.notes),
            "impact_ranking": ranking[: self.max_features_in_extra_data],
            "importance_source": importance_source,
            "feature_importance": dict(zip(weighed, _rounded_all([importance[f] for f in weighed]), strict=True)),
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

    def _segment_result(self, context: MonitoringApplicationContext, whole: ModelMonitoringApplicationResult,
                        importance: Mapping[str, float]) -> ModelMonitoringApplicationResult:
        """``segment_drift`` (the worst segment), escalating ``whole``'s status when a segment drifts."""
        extra: dict[str, Any] = {"segment_by": list(self.segment_by or ()),
                                 "share_thresholds": self._share_thresholds.to_dict(),
                                 "min_segment_rows": self.min_segment_rows}
        if self._segments is None:  # segments are chosen on reference rows: the endpoint has none
            return ModelMonitoringApplicationResult(SEGMENT_DRIFT, 0.0, ResultKindApp.data_drift, Status.irrelevant,
                                                    extra | {"reason": NO_SEGMENT_ROWS})
        try:
            parts = self._segments.split(context.sample_df)
        except ValueError as exc:  # the window lacks a segment column
            return ModelMonitoringApplicationResult(SEGMENT_DRIFT, 0.0, ResultKindApp.data_drift, Status.irrelevant,
                                                    extra | {"reason": str(exc)})
        references = self._segments.references(context.feature_stats)
        quantile = corrected_quantile(self.null_quantile, len(self._segments.segmentation.labels) + 1)
        reports = [self._segment_report(p.label, references.get(p.label), p.window, importance, quantile)
                   for p in parts]
        return segment_drift_result(SEGMENT_DRIFT, reports, whole, shown=self.max_segments_in_extra_data,
                                    extra_data=extra | {"segment_null_quantile": quantile})

    def _segment_report(self, label: str, reference: Reference | None, window: pd.DataFrame,
                        importance: Mapping[str, float], quantile: float | None) -> SegmentReport:
        assert self._segments is not None
        n_reference = self._segments.rows(label)
        if reference is None or n_reference < self.min_segment_rows or len(window) < self.min_segment_rows:
            return SegmentReport(label, Status.irrelevant, float("nan"), len(window), n_reference,
                                 note=f"fewer than {self.min_segment_rows} rows in the window or the reference")
        a = assess_drift(reference, reference.histograms(window, last_closed=not self.mlrun_compatible_binning),
                         metric_name=self._metric_name, metric=self._metric, min_effect_size=self.min_effect_size,
                         null_quantile=None)
        if quantile is not None:
            a = with_segment_noise(a, reference, quantile, metric_name=self._metric_name, metric=self._metric,
                                   draws=self.null_draws, seed=self.seed)
        scored = a.scored
        if not scored.any():
            return SegmentReport(label, Status.irrelevant, float("nan"), len(window), n_reference, note=NOTHING_SCORED)
        drifted = a.drifted
        share, strong_share = self._shares(a, scored, drifted, self.strong_drift_ratio)
        ranking = self._ranking(a, self._order(a, scored), drifted.tolist(), importance)
        details = {"strongly_drifted_share": _rounded(strong_share),
                   "top_culprit": ranking[0]["feature"] if ranking else None,
                   "impact_ranking": ranking[:5]}
        return SegmentReport(label, self._share_status(share, strong_share), share, len(window), n_reference,
                             details)

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
