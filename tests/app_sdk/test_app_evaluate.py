from __future__ import annotations

import pandas as pd
import pytest

from modelmon import (
    ModelMonitoringApplicationBase,
    ModelMonitoringApplicationMetric,
    ModelMonitoringApplicationResult,
    ResultKindApp,
    ResultStatusApp,
)
from modelmon.apps.sdk.evaluate import RESULT_COLUMNS

MINUTE = 60_000


class MeanAbove(ModelMonitoringApplicationBase):
    """Flags windows whose mean of ``x`` is above a threshold given to the constructor."""

    NAME = "mean-above"

    def __init__(self, threshold: float = 10.0) -> None:
        self.threshold = threshold

    def do_tracking(self, monitoring_context):
        mean = float(monitoring_context.sample_df["x"].mean()) if len(monitoring_context.sample_df) else 0.0
        status = ResultStatusApp.detected if mean > self.threshold else ResultStatusApp.no_detection
        return [
            ModelMonitoringApplicationResult("x_mean", mean, ResultKindApp.data_drift, status,
                                             {"features": monitoring_context.feature_names}),
            ModelMonitoringApplicationMetric("rows", len(monitoring_context.sample_df)),
        ]


class NeedsArgument(MeanAbove):
    def __init__(self, threshold: float) -> None:
        super().__init__(threshold)


def _sample() -> pd.DataFrame:
    # minute 0: x = 1, 3; minute 1: nothing; minute 2: x = 20
    return pd.DataFrame({"timestamp": [0, 30_000, 2 * MINUTE + 5], "x": [1.0, 3.0, 20.0], "latency_us": [1, 2, 3]})


def test_one_window_by_default_on_the_class_and_on_an_instance():
    on_class = MeanAbove.evaluate(_sample())
    assert list(on_class.columns) == RESULT_COLUMNS
    assert list(on_class["name"]) == ["x_mean", "rows"]
    assert on_class["value"].tolist() == pytest.approx([8.0, 3.0])
    assert on_class.loc[0, "status"] == ResultStatusApp.no_detection
    assert on_class.loc[0, "kind"] == ResultKindApp.data_drift
    assert on_class.loc[0, "start_infer_time"] == pd.Timestamp(0, tz="UTC")
    assert on_class.loc[0, "end_infer_time"] == pd.Timestamp(2 * MINUTE + 6, unit="ms", tz="UTC")
    assert on_class.loc[0, "application_name"] == "mean-above"
    assert on_class.loc[1, "type"] == "metric" and pd.isna(on_class.loc[1, "status"])
    on_instance = MeanAbove(threshold=5.0).evaluate(_sample())
    assert on_instance.loc[0, "status"] == ResultStatusApp.detected


def test_feature_names_exclude_bookkeeping_columns():
    got = MeanAbove.evaluate(_sample())
    assert got.loc[0, "extra_data"] == {"features": ["x"]}
    got = MeanAbove.evaluate(_sample(), feature_stats={"x": {"min": 0.0, "max": 1.0}, "y": {}})
    assert got.loc[0, "extra_data"] == {"features": ["x", "y"]}


def test_windows_of_base_period_minutes_including_empty_ones():
    got = MeanAbove(threshold=5.0).evaluate(_sample(), base_period=1)
    means = got[got["name"] == "x_mean"]
    assert means["value"].tolist() == pytest.approx([2.0, 0.0, 20.0])
    assert means["status"].tolist() == [ResultStatusApp.no_detection, ResultStatusApp.no_detection,
                                        ResultStatusApp.detected]
    assert [t.value // 1_000_000 for t in means["start_infer_time"]] == [0, MINUTE, 2 * MINUTE]
    assert got[got["name"] == "rows"]["value"].tolist() == [2, 0, 1]


def test_datetime_timestamps_and_explicit_bounds():
    df = _sample().assign(timestamp=pd.to_datetime(_sample()["timestamp"], unit="ms"))  # naive = UTC
    got = MeanAbove.evaluate(df, start="1970-01-01 00:00:00", end="1970-01-01 00:02:00", base_period=1)
    assert got[got["name"] == "rows"]["value"].tolist() == [2, 0]  # the row at 2 min is outside [start, end)


def test_bad_arguments_name_the_problem():
    with pytest.raises(ValueError, match="base_period must be a whole number of minutes"):
        MeanAbove.evaluate(_sample(), base_period=0)
    with pytest.raises(ValueError, match="base_period needs a 'timestamp' column"):
        MeanAbove.evaluate(_sample().drop(columns="timestamp"), base_period=1)
    with pytest.raises(ValueError, match="not both"):
        MeanAbove.evaluate(_sample(), reference_df=_sample(), feature_stats={})
    with pytest.raises(ValueError, match="sample_df must be a pandas DataFrame"):
        MeanAbove.evaluate([1, 2])
    with pytest.raises(ValueError, match=r"end .* is before start"):
        MeanAbove.evaluate(_sample(), start=10, end=5)
    with pytest.raises(ValueError, match="missing values"):
        MeanAbove.evaluate(pd.DataFrame({"timestamp": [1.0, None], "x": [1, 2]}))
    with pytest.raises(TypeError, match=r"NeedsArgument\(\.\.\.\)\.evaluate"):
        NeedsArgument.evaluate(_sample())


def test_what_do_tracking_returns_is_validated():
    class Bad(ModelMonitoringApplicationBase):
        def do_tracking(self, monitoring_context):
            return "oops"

    with pytest.raises(ValueError, match="do_tracking returned str"):
        Bad.evaluate(_sample())


def test_error_count_and_labels_defaults_come_from_the_rows():
    class Peek(ModelMonitoringApplicationBase):
        def do_tracking(self, monitoring_context):
            return {"errors": monitoring_context.error_count, "labels": len(monitoring_context.labels_df)}

    df = _sample().assign(error=[None, "boom", None])
    got = Peek.evaluate(df).set_index("name")["value"]
    assert got.to_dict() == {"errors": 1, "labels": 3}
    got = Peek.evaluate(_sample(), error_count=7, labels_df=pd.DataFrame({"request_id": ["a"]}))
    assert got.set_index("name")["value"].to_dict() == {"errors": 7, "labels": 1}
    with pytest.raises(ValueError, match="error_count must be a non-negative whole number"):
        Peek.evaluate(_sample(), error_count=-1)
    with pytest.raises(ValueError, match="with base_period put an 'error' column"):
        Peek.evaluate(_sample(), error_count=1, base_period=1)


def test_context_loaders_are_called_once_and_only_when_used():
    from modelmon import MonitoringApplicationContext

    calls = []

    def load_errors() -> int:
        calls.append("errors")
        return 4

    context = MonitoringApplicationContext(
        application_name="a", project_name="p", endpoint_id="e",
        start_infer_time=pd.Timestamp(0, tz="UTC"), end_infer_time=pd.Timestamp(1, tz="UTC"),
        sample_df=lambda: calls.append("rows") or _sample(), error_count=load_errors,
        labels_df=lambda: calls.append("labels") or pd.DataFrame(),
    )
    assert calls == []
    assert context.error_count == 4 and context.error_count == 4
    assert calls == ["errors"]
    assert len(context.sample_df) == 3 and context.labels_df.empty
    assert calls == ["errors", "rows", "labels"]
