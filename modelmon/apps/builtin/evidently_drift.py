"""``evidently-data-drift``: Evidently's per-column drift tests and drifted-columns share as results."""

from __future__ import annotations

import re
import warnings
from typing import Any

import pandas as pd

from modelmon.apps.builtin.evidently_base import EvidentlyModelMonitoringApplicationBase
from modelmon.apps.sdk import MonitoringApplicationContext
from modelmon.apps.sdk.context import LABEL_COLUMN, META_COLUMNS
from modelmon.apps.sdk.thresholds import Thresholds
from modelmon.core.results import ModelMonitoringApplicationResult, ResultKindApp
from modelmon.core.results import ResultStatusApp as Status

_DRIFT = ResultKindApp.data_drift


class EvidentlyDataDriftApplication(EvidentlyModelMonitoringApplicationBase):
    """Runs Evidently's ``DataDriftPreset`` on the window against a reference DataFrame.

    Results (kind ``data_drift``): ``drifted_columns_share`` — ``detected`` at or above ``drift_share``
    (Evidently's dataset-drift rule), ``potential_detection`` at or above ``potential_share`` — and, for up
    to ``max_column_results`` columns, ``<column>_drift`` whose value is Evidently's drift score (a p-value
    or a distance, see ``extra_data.method``) and whose status is ``detected`` when Evidently's drift test
    for that column fails. Without a reference or rows every result is ``irrelevant``.

    :param reference_data: the reference rows, a DataFrame or a parquet/CSV path (deployed apps get a path).
    :param drift_share: share of drifted columns that means the dataset drifted.
    :param potential_share: share of drifted columns that is a potential detection.
    :param method: Evidently stat test name for every column (default: Evidently's choice per column).
    :param threshold: that test's threshold (default: Evidently's).
    :param log_snapshot: store the Evidently snapshot of each window as a JSON artifact ``evidently_drift``.
    """

    NAME = "evidently-data-drift"

    def __init__(
        self,
        reference_data: pd.DataFrame | str | None = None,
        *,
        drift_share: float = 0.5,
        potential_share: float = 0.25,
        method: str | None = None,
        threshold: float | None = None,
        max_column_results: int = 50,
        log_snapshot: bool = False,
        evidently_workspace_path: str | None = None,
        evidently_project_id: str | None = None,
    ) -> None:
        super().__init__(evidently_project_id, evidently_workspace_path)
        if not 0 < potential_share <= drift_share <= 1:
            raise ValueError(f"need 0 < potential_share <= drift_share <= 1, got {potential_share}, {drift_share}")
        self.reference_data = reference_data
        self.drift_share = drift_share
        self.potential_share = potential_share
        self.method = method
        self.threshold = threshold
        self.max_column_results = max_column_results
        self.log_snapshot = log_snapshot
        self._share_thresholds = Thresholds(potential_share, drift_share, inclusive=True)
        self._reference = _load_reference(reference_data)

    def do_tracking(self, monitoring_context: MonitoringApplicationContext) -> list[ModelMonitoringApplicationResult]:
        """Evidently's drift verdicts for the window's columns that the reference also has."""
        window = monitoring_context.sample_df
        columns = self._columns(monitoring_context)
        if self._reference is None or window.empty or not columns:
            reason = "no reference data" if self._reference is None else "no rows or no common columns"
            return [ModelMonitoringApplicationResult("drifted_columns_share", 0.0, _DRIFT, Status.irrelevant,
                                                     {"reason": reason})]
        snapshot = self._run(window[columns], self._reference[columns])
        if self.log_snapshot:
            self.log_evidently_object(monitoring_context, snapshot, "evidently_drift", format="json")
        if self.evidently_workspace_path is not None:
            self.add_to_workspace(snapshot)
        share, per_column = _read_snapshot(snapshot.dict())
        status = self._share_thresholds.status(share)
        drifted = sorted(c for c, verdict in per_column.items() if verdict["drifted"])
        results = [ModelMonitoringApplicationResult(
            "drifted_columns_share", share, _DRIFT, status,
            {"drifted_columns": drifted, "columns": len(per_column), "drift_share": self.drift_share,
             "potential_share": self.potential_share})]
        for column, verdict in list(per_column.items())[: self.max_column_results]:
            results.append(ModelMonitoringApplicationResult(
                _result_name(column), verdict["score"], _DRIFT,
                Status.detected if verdict["drifted"] else Status.no_detection,
                {"column": column, "method": verdict["method"], "threshold": verdict["threshold"]}))
        return results

    def _columns(self, context: MonitoringApplicationContext) -> list[str]:
        if self._reference is None:
            return []
        skip = {*META_COLUMNS, LABEL_COLUMN}
        candidates = context.feature_names or [c for c in context.sample_df.columns if c not in skip]
        return [c for c in candidates if c in context.sample_df.columns and c in self._reference.columns]

    def _run(self, current: pd.DataFrame, reference: pd.DataFrame) -> Any:
        from evidently import Report
        from evidently.presets import DataDriftPreset

        preset = DataDriftPreset(drift_share=self.drift_share, method=self.method, threshold=self.threshold)
        with warnings.catch_warnings():  # scipy warns on empty categories inside Evidently's chi-square
            warnings.simplefilter("ignore", RuntimeWarning)
            return Report([preset], include_tests=True).run(current.reset_index(drop=True),
                                                            reference.reset_index(drop=True))


def _read_snapshot(snapshot: dict[str, Any]) -> tuple[float, dict[str, dict[str, Any]]]:
    """The drifted-columns share and, per column, Evidently's score, method, threshold and verdict."""
    share = 0.0
    per_column: dict[str, dict[str, Any]] = {}
    for metric in snapshot.get("metrics", []):
        config = metric.get("config", {})
        if config.get("type", "").endswith("DriftedColumnsCount"):
            share = float(metric["value"]["share"])
        elif config.get("type", "").endswith("ValueDrift"):
            per_column[config["column"]] = {"score": float(metric["value"]), "method": config.get("method"),
                                            "threshold": config.get("threshold"), "drifted": False}
    for test in snapshot.get("tests", []):
        params = test.get("metric_config", {}).get("params", {})
        column = params.get("column")
        if column in per_column and params.get("type", "").endswith("ValueDrift"):
            per_column[column]["drifted"] = str(getattr(test["status"], "value", test["status"])) == "FAIL"
    return share, per_column


def _result_name(column: str) -> str:
    """``<column>_drift`` with characters a result name cannot hold replaced by ``_``."""
    name = re.sub(r"[^a-zA-Z0-9_]", "_", str(column))
    return f"{'_' if name[:1].isdigit() else ''}{name}_drift"


def _load_reference(reference: pd.DataFrame | str | None) -> pd.DataFrame | None:
    if reference is None or isinstance(reference, pd.DataFrame):
        return reference
    if not isinstance(reference, str):
        raise ValueError(f"reference_data must be a DataFrame or a parquet/CSV path, got {type(reference).__name__}")
    if reference.endswith(".csv"):
        return pd.read_csv(reference)
    if reference.endswith(".parquet") or reference.endswith(".pq"):
        return pd.read_parquet(reference)
    raise ValueError(f"reference_data {reference!r}: expected a .parquet or .csv file")
