"""``evaluate`` in MLRun 1.8+'s keyword form, as MLRun's hub notebooks call it (issue 21), next to today's form."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import modelmon
from modelmon import (
    ModelMonitoringApplicationBase,
    ModelMonitoringApplicationMetric,
    ModelMonitoringApplicationResult,
    ResultKindApp,
    ResultStatusApp,
)

T0 = 1_764_516_000_000  # a multiple of 10 minutes
MINUTE = 60_000


class CountApp(ModelMonitoringApplicationBase):
    """A hub-style count app: the window's rows, detected above ``max_rows``; the reference's feature count."""

    def __init__(self, max_rows: int = 100) -> None:
        self.max_rows = max_rows

    def do_tracking(self, monitoring_context):
        rows = len(monitoring_context.sample_df)
        status = ResultStatusApp.detected if rows > self.max_rows else ResultStatusApp.no_detection
        return [
            ModelMonitoringApplicationResult(name="count", value=rows, kind=ResultKindApp.data_drift, status=status),
            ModelMonitoringApplicationMetric(name="reference_features", value=len(monitoring_context.feature_stats)),
        ]


def _traffic(minutes: int, per_minute: int = 3) -> pd.DataFrame:
    times = T0 + np.arange(minutes * per_minute) * (MINUTE // per_minute)
    return pd.DataFrame({"timestamp": times, "x": np.arange(len(times), dtype=float)})


REFERENCE = pd.DataFrame({"x": np.linspace(0, 10, 50), "y": np.linspace(0, 1, 50)})


def test_the_hub_notebook_call_runs_the_app_built_with_its_class_arguments():
    out = CountApp.evaluate(func_path=__file__, func_name="count-app", sample_data=_traffic(10),
                            reference_data=REFERENCE, class_arguments={"max_rows": 20}, run_local=True,
                            image="mlrun/mlrun", requirements=["pandas"])
    assert out[["application_name", "name", "value", "status_name"]].to_dict("records") == [
        {"application_name": "count-app", "name": "count", "value": 30.0, "status_name": "detected"},
        {"application_name": "count-app", "name": "reference_features", "value": 2.0, "status_name": None},
    ]
    # the same app with its defaults, and the positional func_path of MLRun's signature
    out = CountApp.evaluate(__file__, sample_data=_traffic(10))
    assert out.set_index("name").loc["count", "status_name"] == "no_detection"
    assert out["application_name"].tolist() == ["CountApp", "CountApp"]


def test_base_period_start_and_end_cut_windows_and_endpoints_repeat_the_data_per_endpoint():
    out = CountApp.evaluate(sample_data=_traffic(30), start=T0, end=T0 + 30 * MINUTE, base_period=10,
                            endpoints=[("churn", "uid-1"), "fraud"])
    counts = out[out["name"] == "count"]
    assert counts["endpoint_id"].tolist() == ["uid-1"] * 3 + ["fraud"] * 3
    assert counts["value"].tolist() == [30.0] * 6
    assert counts["start_infer_time"].iloc[:3].tolist() == [pd.Timestamp(T0 + k * 10 * MINUTE, unit="ms", tz="UTC")
                                                            for k in range(3)]


def test_data_from_local_parquet_and_csv_files(tmp_path: Path):
    _traffic(5).to_parquet(tmp_path / "sample.parquet")
    REFERENCE.to_csv(tmp_path / "reference.csv", index=False)
    out = CountApp.evaluate(sample_data=str(tmp_path / "sample.parquet"),
                            reference_data=str(tmp_path / "reference.csv"))
    assert out["value"].tolist() == [15.0, 2.0]


def test_an_instance_keeps_its_arguments_and_today_s_form_still_works():
    assert CountApp(max_rows=5).evaluate(sample_data=_traffic(2))["status_name"][0] == "detected"
    assert CountApp(max_rows=5).evaluate(_traffic(2), reference_df=REFERENCE)["value"].tolist() == [6.0, 2.0]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"sample_data": _traffic(1), "run_local": False}, r"run_local=False\): modelmon evaluates on this machine"),
    ({"sample_data": _traffic(1), "write_output": True}, "evaluate returns the results without storing them"),
    ({"endpoints": ["churn"]}, r"without sample_data needs start= and end="),
    ({"func_path": "no_such_app.py", "sample_data": _traffic(1)}, "func_path 'no_such_app.py' does not exist"),
    ({"sample_data": "store://datasets/x"}, "MLRun's dataset URIs are not read here"),
    ({}, "evaluate needs sample_data"),
    ({"endpoints": ["churn"], "start": T0, "end": T0 + 25 * MINUTE, "base_period": 10},
     "end - start must be a positive multiple of base_period"),
])
def test_what_modelmon_cannot_do_here_says_what_to_do_instead(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CountApp.evaluate(**kwargs)


def test_a_wrong_class_argument_names_the_app():
    with pytest.raises(TypeError, match=r"CountApp\.evaluate\(\) on the class needs"):
        CountApp.evaluate(sample_data=_traffic(1), class_arguments={"max_rowz": 1})


def test_endpoints_without_sample_data_read_their_stored_traffic_in_mlrun_s_windows(home, monkeypatch):
    """As MLRun reads the endpoints of its current project: here the project named by the environment, or
    the one given; windows are ``base_period`` minutes from ``start``, the reference is the endpoint's."""
    from modelmon.backends import make_backend
    from modelmon.core.config import Settings
    from modelmon.endpoints.registration import register_model_endpoint

    monkeypatch.setenv("MODELMON_PROJECT", "shop")
    backend = make_backend(Settings.from_env())
    churn = register_model_endpoint(backend, "shop", "churn", reference_data=REFERENCE[["x"]]).endpoint_id
    backend.samples.append(churn, _traffic(30), batch_id="traffic")
    backend.close()

    start = T0 + 5 * MINUTE  # not on the epoch's 10-minute grid: MLRun's windows start at start
    out = CountApp.evaluate(endpoints=["churn"], start=start, end=start + 20 * MINUTE, base_period=10,
                            class_arguments={"max_rows": 25})
    counts = out[out["name"] == "count"]
    assert counts["endpoint_id"].tolist() == [churn, churn]
    assert counts["start_infer_time"].tolist() == [pd.Timestamp(start + k * 10 * MINUTE, unit="ms", tz="UTC")
                                                   for k in range(2)]
    assert counts["value"].tolist() == [30.0, 30.0] and counts["status_name"].tolist() == ["detected"] * 2
    assert out[out["name"] == "reference_features"]["value"].tolist() == [1.0, 1.0]  # the endpoint's reference

    with modelmon.get_or_create_project("shop", home=home) as project:
        out = CountApp.evaluate(endpoints=[("churn", churn)], start=T0, end=T0 + 30 * MINUTE, project=project)
    assert out[out["name"] == "count"]["value"].tolist() == [90.0]
    with pytest.raises(modelmon.NotFound, match="project 'shop' has no model endpoint 'fraud'"):
        CountApp.evaluate(endpoints=["fraud"], start=T0, end=T0 + MINUTE)
