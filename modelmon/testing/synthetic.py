"""A large, realistic modelmon home built in seconds: for the UI's browser tests and benchmarks.

:func:`synthetic_home` writes what the functions of a running service would have written, through the
backend's roles (``backend.kv`` / ``tsdb`` / ``samples``) and the stored-record layouts of CONTRIBUTING.md
("Stored records"), in bulk:

- the project record (``projects/<p>/project.json``) and three registered built-in apps;
- ``endpoints`` endpoint records (:class:`~modelmon.endpoints.store.EndpointStore`) with reference
  ``feature_stats``, traffic counters and the drift status of their latest window;
- per endpoint, the latest results (KV, with the ``extra_data`` the built-in apps write: thresholds,
  per-feature drift) and the result history (TSDB) of its recent windows;
- the first ``detailed`` endpoints get ``days`` of history with ``results_per_window`` results per window,
  metrics, per-window ``extra_data`` (per-feature drift for the features x windows heatmap), per-minute
  predictions and errors over all those days and samples for their most recent windows;
- every other endpoint gets :data:`RECENT_WINDOWS` windows of the first three results (the overview's
  sparkline and latency) and an hour of per-minute traffic;
- the controller's progress of every endpoint and app (KV ``schedules_table``): analysed up to the latest
  window, so ``modelmon status`` counts no window pending;
- a few detected results (through the writer's :class:`~modelmon.writer.alerts.KVAlertLog`) and app failures
  (through :class:`~modelmon.writer.ResultWriter`);
- the alert configs :data:`ALERT_CONFIGS`, and their activations: the real
  :class:`~modelmon.alerts.evaluator.Evaluator` evaluates the drift app's recent windows of the most drifting
  endpoints and the app failures (a minute after each window, as the alerts function would; no notification is
  sent).

History is written with one write stamp (``updated_ms``) per endpoint, app and result instead of one per
window as the writer does: readers keep the highest stamp per window, which is the same for one stamp
per series, and the TSDB then has one series per result rather than one per window (the writer's layout
costs one index lookup per row to build).

Values are deterministic for a ``seed``. :data:`RESULTS` lists the results in the order
``results_per_window`` takes them.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelmon.alerts.configs import AlertConfig, AlertConfigStore
from modelmon.alerts.evaluator import Evaluator
from modelmon.apps.registry import AppRegistry
from modelmon.backends import Backend, make_backend
from modelmon.controller.schedule import schedule_key
from modelmon.core.arrays import FloatArray, IntArray
from modelmon.core.config import Settings
from modelmon.core.paths import ProjectPaths
from modelmon.core.project_record import write_record
from modelmon.core.results import ModelMonitoringApplicationResult, ResultKindApp, ResultStatusApp
from modelmon.endpoints.record import ModelEndpoint
from modelmon.endpoints.store import EndpointStore
from modelmon.events import WriterEvent
from modelmon.events.tracking import endpoint_uid
from modelmon.stats import feature_stats
from modelmon.stream.aggregate import ERROR_LABELS, PREDICTION_LABELS
from modelmon.writer import ResultWriter
from modelmon.writer.alerts import Alert, KVAlertLog
from modelmon.writer.history import METRIC_LABELS, RESULT_LABELS, bounded_extra_data, extra_data_key
from modelmon.writer.latest import metrics_key, result_key

DRIFT_APP = "histogram-data-drift"
PERF_APP = "system-performance"
QUALITY_APP = "data-quality"
APPS = {
    DRIFT_APP: "modelmon.apps.builtin.histogram_drift:HistogramDataDriftApplication",
    PERF_APP: "modelmon.apps.builtin.system_performance:SystemPerformanceApplication",
    QUALITY_APP: "modelmon.apps.builtin.data_quality:DataQualityApplication",
}
_DRIFT, _PERF, _ANOMALY = ResultKindApp.data_drift, ResultKindApp.system_performance, ResultKindApp.mm_app_anomaly
#: (app, result, kind, potential threshold, detected threshold): the built-in apps' defaults.
RESULTS: list[tuple[str, str, ResultKindApp, float, float]] = [
    (DRIFT_APP, "general_drift", _DRIFT, 0.5, 0.7),
    (DRIFT_APP, "drifted_features_share", _DRIFT, 0.25, 0.5),
    (PERF_APP, "latency_p99_us", _PERF, 800_000.0, 1_000_000.0),
    (PERF_APP, "error_rate", _PERF, 0.008, 0.01),
    (PERF_APP, "latency_p50_us", _PERF, 800_000.0, 1_000_000.0),
    (PERF_APP, "latency_p95_us", _PERF, 800_000.0, 1_000_000.0),
    (PERF_APP, "throughput_per_minute", _PERF, 12.5, 10.0),
    (QUALITY_APP, "missing_value_rate", _ANOMALY, 0.05, 0.2),
    (QUALITY_APP, "out_of_range_share", _ANOMALY, 0.01, 0.05),
    (QUALITY_APP, "unseen_category_share", _ANOMALY, 0.01, 0.05),
    (QUALITY_APP, "type_error_share", _ANOMALY, 0.0, 0.01),
    (QUALITY_APP, "schema_drift", _ANOMALY, 0.5, 1.0),
]
METRICS = {DRIFT_APP: ("tvd_mean", "hellinger_mean", "kld_mean"), PERF_APP: ("request_count", "error_count"),
           QUALITY_APP: ("rows",)}
#: Windows of history of the endpoints that are not detailed (the overview's sparkline shows 24).
RECENT_WINDOWS = 24
#: Results of the endpoints that are not detailed: general_drift, drifted_features_share, latency_p99_us.
RECENT_RESULTS = 3
MODELS = ("churn", "fraud", "ranker", "pricing", "recsys", "forecast", "credit", "ads")
MINUTE_MS = 60_000
#: The alert configs of a generated home: drift detected (auto reset) and app failures.
ALERT_CONFIGS = (
    {"name": "drift", "severity": "high", "trigger": {"events": ["data_drift_detected"]},
     "entities": {"apps": [DRIFT_APP]}, "notifications": [{"kind": "log"}]},
    {"name": "app-failures", "severity": "medium", "trigger": {"events": ["mm_app_failed"]},
     "notifications": [{"kind": "log"}]},
)
#: How many of the most drifting endpoints have their drift app's windows evaluated against the configs.
ALERTING_ENDPOINTS = 5
_REFERENCE_ROWS = 2_000
_SAMPLE_ROWS = 300


@dataclasses.dataclass(frozen=True)
class SyntheticHome:
    """What :func:`synthetic_home` wrote: ids in creation order, the detailed ones first."""

    home: str
    project: str
    endpoint_ids: list[str]
    detailed_ids: list[str]
    names: dict[str, str]  # endpoint id -> name
    features: list[str]
    period_ms: int
    end_ms: int  # end of every endpoint's latest window
    windows: int  # windows of history of a detailed endpoint
    sample_windows: int  # most recent windows of a detailed endpoint that have samples
    seconds: float  # how long writing took

    def settings(self) -> Settings:
        return Settings(home=self.home, project=self.project)


def synthetic_home(path: str | Path, *, endpoints: int, days: float, period_minutes: int = 10,
                   results_per_window: int = 12, seed: int = 0, detailed: int = 1, project: str = "synthetic",
                   features: int = 8, sample_windows: int = 6, end_ms: int | None = None) -> SyntheticHome:
    """Fill the home at ``path`` (created if needed) with ``endpoints`` endpoints of ``project``.

    ``days`` of ``period_minutes`` windows with ``results_per_window`` results (of :data:`RESULTS`) for
    the first ``detailed`` endpoints, :data:`RECENT_WINDOWS` windows of the first :data:`RECENT_RESULTS`
    results for the others. ``end_ms``: the end of the latest window (default: now, rounded down to the
    period). ``sample_windows``: the detailed endpoints' most recent windows that get samples.
    """
    if endpoints < 1 or not 0 <= detailed <= endpoints:
        raise ValueError(f"endpoints must be >= 1 and detailed in [0, endpoints], got {endpoints}, {detailed}")
    if not 1 <= results_per_window <= len(RESULTS):
        raise ValueError(f"results_per_window must be in [1, {len(RESULTS)}], got {results_per_window}")
    if days <= 0 or period_minutes < 1 or features < 1:
        raise ValueError("days, period_minutes and features must be positive")
    started = time.perf_counter()
    period = period_minutes * MINUTE_MS
    end = (int(time.time() * 1000) if end_ms is None else end_ms) // period * period
    windows = max(1, int(days * 86_400_000 // period))
    settings = Settings(home=str(path), project=project, base_period_minutes=period_minutes)
    Path(path).mkdir(parents=True, exist_ok=True)
    write_record(path, project, base_period_minutes=period_minutes)
    backend = make_backend(settings)
    try:
        writer = _Writer(backend, ProjectPaths(project), np.random.default_rng(seed), period, end, features)
        for name, class_path in APPS.items():
            AppRegistry(backend.kv, writer.paths).register(name, class_path, created_ms=end - windows * period)
        ids, names = writer.endpoints(endpoints, detailed, windows)
        for k, endpoint_id in enumerate(ids):
            rich = k < detailed
            writer.history(endpoint_id, windows if rich else min(windows, RECENT_WINDOWS),
                           results_per_window if rich else min(results_per_window, RECENT_RESULTS), rich)
            writer.traffic(endpoint_id, windows * period if rich else 60 * MINUTE_MS)
            if rich:
                writer.samples(endpoint_id, min(sample_windows, windows))
        writer.flush()
        writer.alerts_and_failures(ids, detailed)
    finally:
        backend.close()
    return SyntheticHome(str(path), project, ids, ids[:detailed], names, writer.feature_names, period, end, windows,
                         min(sample_windows, windows), time.perf_counter() - started)


class _Writer:
    """Generates and writes one home; TSDB rows are buffered and written in large frames."""

    def __init__(self, backend: Backend, paths: ProjectPaths, rng: np.random.Generator, period: int, end: int,
                 features: int) -> None:
        self.backend, self.paths, self.rng, self.period, self.end = backend, paths, rng, period, end
        self.feature_names = [f"x{i}" for i in range(features - 1)] + ["segment"]
        self._centres = (0.0, 0.5, 1.0, 2.0)  # feature i of reference r is centred on centres[r] * i
        self._references = [self._reference(centre) for centre in self._centres]
        self._reference_of: dict[str, int] = {}
        self._results = _Rows()
        self._metrics = _Rows()
        self._predictions = _Rows()
        self._errors = _Rows()
        self._drift: dict[str, float] = {}  # endpoint -> how much it drifts (0 none … 1 strongly)
        self._names: dict[str, str] = {}
        #: endpoint -> its last windows' ends and the drift app's (result, values, statuses), for the alerts
        self._recent_drift: dict[str, tuple[IntArray, list[tuple[str, FloatArray, IntArray]]]] = {}
        self._weights: dict[str, FloatArray] = {}  # endpoint -> how much each feature takes part in its drift
        self._stamp = end + 1
        for table in (paths.app_results_tsdb, paths.metrics_tsdb, paths.predictions_tsdb, paths.errors_tsdb):
            backend.tsdb.create_table(table)

    def _reference(self, shift: float) -> dict[str, Any]:
        columns: dict[str, Any] = {name: self.rng.normal(shift * i, 1.0 + i / 4, _REFERENCE_ROWS)
                                   for i, name in enumerate(self.feature_names[:-1])}
        columns["segment"] = self.rng.choice(["a", "b", "c"], _REFERENCE_ROWS, p=[0.5, 0.3, 0.2])
        return feature_stats(pd.DataFrame(columns))

    # ------------------------------------------------------------------------------------ endpoints
    def endpoints(self, count: int, detailed: int, windows: int) -> tuple[list[str], dict[str, str]]:
        store = EndpointStore(self.backend.kv, self.paths)
        ids, names = [], {}
        drift = self.rng.random(count) ** 3  # most endpoints hardly drift, a few strongly
        for k in range(count):
            model = MODELS[k % len(MODELS)]
            version = f"v{1 + k // len(MODELS) % 3}"
            name = f"{model}-{k:05d}"
            function_uri = f"{self.paths.project}/serving-{k % 7}"
            endpoint_id = endpoint_uid(self.paths.project, function_uri, name, version)
            span = windows * self.period if k < detailed else 60 * MINUTE_MS
            rate = 20 + 5 * (k % 13)  # requests per minute
            minutes = span // MINUTE_MS
            requests = rate * minutes
            store.create(ModelEndpoint(
                endpoint_id=endpoint_id, name=name, project=self.paths.project, function_uri=function_uri,
                model=model, model_version=version, model_class="sklearn.ensemble.RandomForestClassifier",
                labels={"team": ("growth", "risk", "search")[k % 3]}, feature_names=list(self.feature_names),
                label_names=["label"], feature_types={f: "text" if f == "segment" else "number"
                                                      for f in self.feature_names},
                feature_stats=self._references[self._reference_of.setdefault(endpoint_id, k % len(self._centres))],
                first_request_ms=self.end - span, last_request_ms=self.end - 1, watermark_ms=self.end,
                request_count=requests, error_count=requests // 200, latency_sum_us=requests * 2_000.0 * (1 + k % 5),
                created_ms=self.end - span, registered=True,
            ))
            ids.append(endpoint_id)
            names[endpoint_id] = name
            self._names[endpoint_id] = name
            self._drift[endpoint_id] = float(drift[k])
            self._weights[endpoint_id] = self.rng.random(len(self.feature_names)) ** 2
        return ids, names

    # ------------------------------------------------------------------------------------ results
    def history(self, endpoint_id: str, windows: int, results: int, rich: bool) -> None:
        """``windows`` windows ending at ``self.end`` of the first ``results`` results (and metrics, extra_data)."""
        ends = self.end - self.period * np.arange(windows - 1, -1, -1, dtype=np.int64)
        intensity = self._drift[endpoint_id] * np.linspace(0.0, 1.0, windows) ** 4  # drift grows at the end
        weights = self._weights[endpoint_id]
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        worst = int(ResultStatusApp.irrelevant)
        for app, result, kind, potential, detected in RESULTS[:results]:
            values = self._values(result, intensity)
            statuses = _statuses(values, potential, detected, higher_is_worse=result != "throughput_per_minute",
                                 inclusive=app == DRIFT_APP)
            if app == DRIFT_APP:
                recent = self._recent_drift.setdefault(endpoint_id, (ends[-RECENT_WINDOWS:], []))
                recent[1].append((result, values[-RECENT_WINDOWS:], statuses[-RECENT_WINDOWS:]))
            self._stamp += 1
            self._results.add(ends.size, time=ends, endpoint_id=endpoint_id, app_name=app, result_name=result,
                              value=values, status=statuses, kind=int(kind), start_ms=ends - self.period,
                              updated_ms=str(self._stamp))
            extras = [self._extra(app, result, potential, detected, float(i), weights) for i in intensity] \
                if rich and app in (DRIFT_APP, QUALITY_APP) else None
            if extras is not None:
                for i, end in enumerate(ends.tolist()):
                    self.backend.kv.put(self.paths.app_results_extra_table,
                                        extra_data_key(endpoint_id, app, result, end),
                                        {"endpoint_id": endpoint_id, "app_name": app, "result_name": result,
                                         "start_ms": end - self.period, "end_ms": end, "updated_ms": self._stamp,
                                         "extra_data": bounded_extra_data(extras[i])})
            extra = extras[-1] if extras is not None else self._extra(app, result, potential, detected,
                                                                       float(intensity[-1]), weights)
            latest[(app, result)] = {
                "endpoint_id": endpoint_id, "app_name": app, "result_name": result, "value": float(values[-1]),
                "status": int(statuses[-1]), "kind": int(kind), "extra_data": bounded_extra_data(extra),
                "start_ms": self.end - self.period, "end_ms": self.end, "updated_ms": self._stamp,
            }
            worst = max(worst, int(statuses[-1]))
        for (app, result), item in latest.items():
            self.backend.kv.put(self.paths.app_results_table, result_key(endpoint_id, app, result), item)
        if rich:
            self._metric_history(endpoint_id, ends, {app for app, *_ in RESULTS[:results]})
        EndpointStore(self.backend.kv, self.paths).update_drift_status(endpoint_id, worst, self.end)
        for app in APPS:  # the controller's progress: every window up to the latest is analysed
            self.backend.kv.put(self.paths.schedules_table, schedule_key(endpoint_id, app), {
                "last_analyzed_ms": self.end, "claim_id": "", "first_planned_ms": int(ends[0]) - self.period,
                "seen_watermark_ms": self.end, "seen_at_ms": self.end})

    def _values(self, result: str, intensity: FloatArray) -> FloatArray:
        """A plausible series of ``result`` for a drift ``intensity`` (0 none … 1 strong) per window."""
        noise = self.rng.random(intensity.size)
        digits = 6
        if result == "general_drift":
            values = 0.05 + 0.1 * noise + 0.8 * intensity
        elif result == "drifted_features_share":
            values = np.floor(np.clip(0.05 * noise + intensity, 0, 1) * 8) / 8
        elif result.startswith("latency_"):
            scale = {"latency_p50_us": 0.3, "latency_p95_us": 0.7, "latency_p99_us": 1.0}[result]
            values, digits = scale * (200_000 + 100_000 * noise + 900_000 * intensity), 1
        elif result == "error_rate":
            values = 0.002 * noise + 0.02 * intensity
        elif result == "throughput_per_minute":
            values = 30 + 10 * noise
        elif result == "schema_drift":
            values = (noise > 0.97).astype(np.float64)
        else:
            values = 0.01 * noise + 0.1 * intensity
        rounded: FloatArray = np.asarray(values, dtype=np.float64).round(digits)
        return rounded

    def _extra(self, app: str, result: str, potential: float, detected: float, intensity: float,
               weights: FloatArray) -> dict[str, Any]:
        """The ``extra_data`` the built-in app writes for this result (thresholds, per-feature values): the
        features with the largest ``weights`` drift most."""
        limits = {"potential": potential, "detected": detected}
        if app == PERF_APP:
            return {"rows": 300, "slo": limits}
        noise = self.rng.random(len(self.feature_names))
        scores = np.clip(0.02 + 0.08 * noise + 1.2 * weights * intensity, 0, 1).round(6)
        if app == QUALITY_APP:
            per_feature = {f: round(float(s) / 10, 6) for f, s in zip(self.feature_names, scores, strict=True)}
            return {"worst_feature": max(per_feature, key=per_feature.__getitem__), "features": per_feature,
                    "flagged_features": [f for f, v in per_feature.items() if v > detected], "thresholds": limits}
        drifted = [f for f, s in zip(self.feature_names, scores, strict=True) if s > 0.3]
        if result == "general_drift":
            features = {f: {"tvd": float(s), "hellinger": round(float(s) * 1.1, 6), "kld": round(float(s) * 3, 6),
                            "status": 2 if f in drifted else 0}
                        for f, s in zip(self.feature_names, scores, strict=True)}
            return {"features_scored": len(features), "features_shown": len(features), "not_scored": {},
                    "thresholds": limits, "features": features}
        return {"features_scored": len(scores), "features_shown": len(scores), "not_scored": {},
                "metric": "tvd_hellinger", "min_effect_size": 0.1, "null_quantile": 0.99, "share_thresholds": limits,
                "drifted_features": drifted, "feature_scores": dict(zip(self.feature_names, scores.tolist(),
                                                                         strict=True)),
                "feature_thresholds": dict.fromkeys(self.feature_names, 0.3), "notes": {}}

    def _metric_history(self, endpoint_id: str, ends: IntArray, apps: set[str]) -> None:
        for app in sorted(apps):
            values = {}
            for metric in METRICS[app]:
                series = np.round(self.rng.random(ends.size) * (1000 if "count" in metric or metric == "rows" else 1),
                                  4)
                values[metric] = float(series[-1])
                self._stamp += 1
                self._metrics.add(ends.size, time=ends, endpoint_id=endpoint_id, app_name=app, metric_name=metric,
                                  value=series, start_ms=ends - self.period, updated_ms=str(self._stamp))
            self.backend.kv.put(self.paths.app_metrics_table, metrics_key(endpoint_id, app), {
                "endpoint_id": endpoint_id, "app_name": app, "start_ms": self.end - self.period, "end_ms": self.end,
                "updated_ms": self._stamp, "metrics": json.dumps(values)})

    # ------------------------------------------------------------------------------------ traffic
    def traffic(self, endpoint_id: str, span_ms: int) -> None:
        """Per-minute predictions (one batch per endpoint) and a few errors over the last ``span_ms``."""
        minutes = self.end - MINUTE_MS * np.arange(span_ms // MINUTE_MS, 0, -1, dtype=np.int64)
        counts = self.rng.poisson(30, minutes.size).astype(np.int64) + 1
        latency = self.rng.gamma(4.0, 50_000.0, minutes.size)
        self._predictions.add(minutes.size, time=minutes, endpoint_id=endpoint_id, batch_id="synthetic", count=counts,
                              latency_sum_us=np.round(latency * counts, 1), latency_max_us=np.round(latency * 3, 1))
        failed = minutes[self.rng.random(minutes.size) < 0.05]
        self._errors.add(failed.size, time=failed + 7_000, endpoint_id=endpoint_id, batch_id="synthetic",
                         count=np.ones(failed.size, dtype=np.int64))

    def samples(self, endpoint_id: str, windows: int) -> None:
        """Rows for the most recent ``windows`` windows: the reference's features, shifted as the endpoint drifts."""
        level = self._drift[endpoint_id]
        for w in range(windows):
            start = self.end - (windows - w) * self.period
            shift = 3 * level * self._weights[endpoint_id] * (w + 1) / windows  # per feature
            rows: dict[str, Any] = {
                "timestamp": start + np.sort(self.rng.integers(0, self.period, _SAMPLE_ROWS)),
                "request_id": [f"{start}-{i}" for i in range(_SAMPLE_ROWS)],
                "latency_us": self.rng.gamma(4.0, 50_000.0, _SAMPLE_ROWS).round(1),
            }
            for i, name in enumerate(self.feature_names[:-1]):
                centre = self._centres[self._reference_of[endpoint_id]] * i
                rows[name] = self.rng.normal(centre + shift[i], 1.0 + i / 4, _SAMPLE_ROWS)
            rows["segment"] = self.rng.choice(["a", "b", "c"], _SAMPLE_ROWS)
            rows["prediction"] = self.rng.integers(0, 2, _SAMPLE_ROWS)
            self.backend.samples.append(endpoint_id, pd.DataFrame(rows), batch_id=f"synthetic-{start}")

    # ------------------------------------------------------------------------------------ the rest
    def flush(self) -> None:
        """The buffered TSDB rows, one write per table."""
        tsdb = self.backend.tsdb
        for table, rows, labels in ((self.paths.app_results_tsdb, self._results, RESULT_LABELS),
                                    (self.paths.metrics_tsdb, self._metrics, METRIC_LABELS),
                                    (self.paths.predictions_tsdb, self._predictions, PREDICTION_LABELS),
                                    (self.paths.errors_tsdb, self._errors, ERROR_LABELS)):
            frame = rows.frame()
            if len(frame):
                tsdb.write(table, frame, labels=list(labels))

    def alerts_and_failures(self, ids: list[str], detailed: int) -> None:
        """An alert for each of the most drifting endpoints' latest window; failures of the data-quality app."""
        log = KVAlertLog(self.backend.kv, self.paths.alerts_table)
        drifting = sorted(ids, key=lambda e: -self._drift[e])[:5]
        for k, endpoint_id in enumerate(drifting):
            end = self.end - k * self.period
            log.notify(Alert(endpoint_id, DRIFT_APP, "general_drift", 0.8 + k / 100, int(_DRIFT), end - self.period,
                             end, {"drifted_features": self.feature_names[:2]}))
        writer = ResultWriter(self.backend, self.paths, clock=lambda: self.end)
        failures = []
        for k, endpoint_id in enumerate(ids[detailed:detailed + 2] or ids[:1]):
            start = self.end - (k + 3) * self.period
            failures.append(WriterEvent(self.paths.project, endpoint_id, QUALITY_APP, start, start + self.period,
                                        error="KeyError: 'segment'", error_type="KeyError",
                                        location="data_quality.py:120", traceback=_TRACEBACK,
                                        endpoint_name=self._names[endpoint_id]))
            writer.write(failures[-1])
        self.alert_activations(drifting[:ALERTING_ENDPOINTS], failures)

    def alert_activations(self, endpoint_ids: list[str], failures: list[WriterEvent]) -> None:
        """Store :data:`ALERT_CONFIGS` and evaluate the drift app's recent windows of ``endpoint_ids`` and the
        app ``failures`` (the first failed endpoint's next window succeeds, which resolves its alert)."""
        store = AlertConfigStore(self.backend.kv, self.paths)
        for config in ALERT_CONFIGS:
            store.store(AlertConfig.from_dict(config))
        clock = [self.end]
        evaluator = Evaluator(self.backend.kv, self.paths, refresh_s=3600, clock=lambda: clock[0])
        events = []
        for endpoint_id in endpoint_ids:
            ends, series = self._recent_drift[endpoint_id]
            for w, end in enumerate(ends.tolist()):
                results = tuple(ModelMonitoringApplicationResult(name, float(values[w]), _DRIFT,
                                                                 ResultStatusApp(int(statuses[w])))
                                for name, values, statuses in series)
                events.append(WriterEvent(self.paths.project, endpoint_id, DRIFT_APP, end - self.period, end, results,
                                          endpoint_name=self._names[endpoint_id]))
        events += failures
        if failures:  # a window analysed after the failure: the app works again
            first = failures[0]
            events.append(dataclasses.replace(first, start_ms=first.end_ms, end_ms=first.end_ms + self.period,
                                              error=None, error_type=None, location=None, traceback=None))
        for event in sorted(events, key=lambda e: e.end_ms):
            clock[0] = event.end_ms + MINUTE_MS
            evaluator.evaluate(event)


class _Rows:
    """Columns of TSDB rows gathered in pieces (a scalar stands for a piece of equal values), one frame at the end."""

    def __init__(self) -> None:
        self._columns: dict[str, list[Any]] = {}

    def add(self, size: int, **columns: Any) -> None:
        for name, values in columns.items():
            piece = values if isinstance(values, np.ndarray) else np.full(size, values, dtype=object
                                                                          if isinstance(values, str) else None)
            self._columns.setdefault(name, []).append(piece)

    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame({name: np.concatenate(pieces) for name, pieces in self._columns.items()})
        self._columns.clear()
        return frame


_TRACEBACK = ('Traceback (most recent call last):\n  File "data_quality.py", line 120, in do_tracking\n'
              '    counts = df["segment"].value_counts()\nKeyError: \'segment\'\n')


def _statuses(values: FloatArray, potential: float, detected: float, *, higher_is_worse: bool,
              inclusive: bool) -> IntArray:
    """The status of each value under (potential, detected), as ``apps.sdk.thresholds.Thresholds`` judges it."""
    sign = 1.0 if higher_is_worse else -1.0
    v, p, d = sign * values, sign * potential, sign * detected
    reaches_d = v >= d if inclusive else v > d
    reaches_p = v >= p if inclusive else v > p
    return np.where(reaches_d, 2, np.where(reaches_p, 1, 0)).astype(np.int64)
