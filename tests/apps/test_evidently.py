from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from modelmon import ResultKindApp, ResultStatusApp
from modelmon.apps.builtin.evidently_base import (
    EvidentlyModelMonitoringApplicationBase,
    EvidentlyVersionWarning,
    check_evidently_version,
)
from modelmon.apps.builtin.evidently_drift import EvidentlyDataDriftApplication
from modelmon.core.errors import ConfigError
from modelmon.testing import InMemoryObjectStore


def _frames(shift: float = 1.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(3)
    reference = pd.DataFrame({"a": rng.normal(size=500), "b": rng.normal(size=500), "c c": rng.normal(size=500)})
    window = pd.DataFrame({"timestamp": np.arange(400) * 100, "a": rng.normal(shift, size=400),
                           "b": rng.normal(size=400), "c c": rng.normal(size=400), "label": np.zeros(400)})
    return reference, window


@pytest.mark.slow  # a full Evidently report: about 2 s
def test_per_column_drift_and_drifted_share_match_scipy_ks():
    reference, window = _frames()
    got = EvidentlyDataDriftApplication(reference).evaluate(window).set_index("name")
    assert list(got.index) == ["drifted_columns_share", "a_drift", "b_drift", "c_c_drift"]
    for name, column in (("a_drift", "a"), ("b_drift", "b"), ("c_c_drift", "c c")):
        p_value = stats.ks_2samp(reference[column], window[column]).pvalue
        assert got.loc[name, "value"] == pytest.approx(p_value, rel=1e-9)
        expected = ResultStatusApp.detected if p_value < 0.05 else ResultStatusApp.no_detection
        assert got.loc[name, "status"] == expected
        assert got.loc[name, "extra_data"] == {"column": column, "method": "K-S p_value", "threshold": 0.05}
    assert got.loc["a_drift", "status"] == ResultStatusApp.detected
    share = got.loc["drifted_columns_share"]
    drifted = [c for c in ("a", "b", "c c") if stats.ks_2samp(reference[c], window[c]).pvalue < 0.05]
    assert share["value"] == pytest.approx(len(drifted) / 3)
    assert share["extra_data"]["drifted_columns"] == sorted(drifted)
    assert share["kind"] == ResultKindApp.data_drift
    assert share["status"] == (ResultStatusApp.potential_detection if len(drifted) == 1 else ResultStatusApp.detected)


def test_no_drift_and_thresholds():
    reference, window = _frames(shift=0.0)
    got = EvidentlyDataDriftApplication(reference, drift_share=0.9, potential_share=0.9).evaluate(window)
    assert got.set_index("name").loc["drifted_columns_share", "status"] == ResultStatusApp.no_detection
    with pytest.raises(ValueError, match="potential_share <= drift_share"):
        EvidentlyDataDriftApplication(reference, drift_share=0.2, potential_share=0.5)


def test_without_reference_or_rows_results_are_irrelevant():
    reference, window = _frames()
    got = EvidentlyDataDriftApplication().evaluate(window)
    assert got.loc[0, "status"] == ResultStatusApp.irrelevant
    assert got.loc[0, "extra_data"] == {"reason": "no reference data"}
    got = EvidentlyDataDriftApplication(reference).evaluate(window.iloc[:0])
    assert got.loc[0, "extra_data"] == {"reason": "no rows or no common columns"}


def test_reference_from_a_parquet_path(tmp_path):
    reference, window = _frames()
    path = tmp_path / "reference.parquet"
    reference.to_parquet(path)
    got = EvidentlyDataDriftApplication(str(path)).evaluate(window).set_index("name")
    assert got.loc["a_drift", "status"] == ResultStatusApp.detected
    with pytest.raises(ValueError, match=r"expected a \.parquet or \.csv file"):
        EvidentlyDataDriftApplication(str(tmp_path / "reference.txt"))


def test_snapshot_logged_as_html_by_default_as_mlrun_does_and_json_when_asked():
    reference, window = _frames()
    store = InMemoryObjectStore()

    class Both(EvidentlyDataDriftApplication):
        def do_tracking(self, monitoring_context):
            snapshot = self._run(monitoring_context.sample_df[["a"]], reference[["a"]])
            self.log_evidently_object(monitoring_context, snapshot, "drift_report", format="json")
            self.log_evidently_object(monitoring_context, snapshot, "drift_report", unique_per_endpoint=False)
            return {"logged": 2}

    Both(reference).evaluate(window, objects=store, endpoint_id="ep1")
    paths = sorted(store.objects)
    assert [p.rsplit("/", 3)[1:] for p in paths] == [["_all", "0-39901", "drift_report.html"],
                                                     ["ep1", "0-39901", "drift_report.json"]]
    body = json.loads(store.get_object(paths[1]))
    assert any(m["config"]["type"].endswith("ValueDrift") for m in body["metrics"])
    assert b"<html" in store.get_object(paths[0]).lower()


def test_log_snapshot_option_stores_each_window():
    reference, window = _frames()
    store = InMemoryObjectStore()
    EvidentlyDataDriftApplication(reference, log_snapshot=True).evaluate(window, base_period=1, objects=store,
                                                                            end=60_000)
    assert [p.rsplit("/", 2)[1:] for p in sorted(store.objects)] == [["0-60000", "evidently_drift.json"]]


def test_bad_objects_and_formats_are_clear_errors():
    reference, window = _frames()

    class Wrong(EvidentlyDataDriftApplication):
        def do_tracking(self, monitoring_context):
            self.log_evidently_object(monitoring_context, {"not": "a snapshot"}, "x")

    with pytest.raises(ValueError, match="expected an Evidently snapshot"):
        Wrong(reference).evaluate(window)


def test_version_check():
    assert check_evidently_version("0.7.0") == "0.7.0"
    with pytest.warns(EvidentlyVersionWarning, match="newer than the supported 0.7"):
        check_evidently_version("0.8.1")
    for old in ("0.6.7", "1.0.0", "0.4.40"):
        with pytest.raises(ConfigError, match=f"Evidently {old} is not supported"):
            check_evidently_version(old)
    with pytest.raises(ConfigError, match="cannot read the Evidently version"):
        check_evidently_version("seven")


def test_workspace_arguments_go_together_and_snapshots_reach_the_workspace(tmp_path):
    reference, window = _frames()
    with pytest.raises(ValueError, match="evidently_project_id needs a workspace"):
        EvidentlyDataDriftApplication(reference, evidently_project_id="0")
    probe = EvidentlyDataDriftApplication(reference, evidently_workspace_path=str(tmp_path / "ws"),
                                          evidently_project_id="0")
    project = probe.evidently_workspace.create_project("monitoring")
    app = EvidentlyDataDriftApplication(reference, evidently_workspace_path=str(tmp_path / "ws"),
                                        evidently_project_id=str(project.id))
    app.evaluate(window, base_period=1, end=60_000)  # 40 s of traffic: the one window ends at 1 min
    assert len(app.evidently_workspace.list_runs(project.id)) == 1
    assert issubclass(EvidentlyDataDriftApplication, EvidentlyModelMonitoringApplicationBase)
